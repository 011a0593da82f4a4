"""/metrics: what Prometheus reads, and who may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import heartbeats
from core.models import OutgoingMessage
from tests.factories import AlertFactory, ResponseFactory, SentMessageFactory

OUTSIDE = "198.51.100.7"


def _samples(response) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.mark.django_db
def test_metrics_count_requests_by_view(client):
    client.get("/login/")
    samples = _samples(client.get("/metrics"))
    assert samples[("valuepulse_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "login")))] >= 1
    assert samples[("valuepulse_http_request_duration_seconds_count", (("view", "login"),))] >= 1


@pytest.mark.django_db
def test_metrics_give_outbox_depth_age_and_outcomes_by_kind(client):
    now = timezone.now()
    SentMessageFactory(kind="survey-invitation", status=OutgoingMessage.Status.QUEUED, sent_at=None,
                       next_attempt_at=now - timedelta(seconds=120))
    SentMessageFactory(kind="survey-invitation", status=OutgoingMessage.Status.QUEUED, sent_at=None,
                       next_attempt_at=now + timedelta(hours=1))
    SentMessageFactory(kind="survey-invitation")
    SentMessageFactory(kind="alert-notification", status=OutgoingMessage.Status.FAILED)
    samples = _samples(client.get("/metrics"))
    assert samples[("valuepulse_outbox_depth", (("kind", "survey-invitation"),))] == 2
    assert 120 <= samples[("valuepulse_outbox_oldest_due_age_seconds", (("kind", "survey-invitation"),))] < 180
    assert samples[("valuepulse_outbox_oldest_due_age_seconds", (("kind", "alert-notification"),))] == 0
    assert samples[("valuepulse_outbox_messages", (("kind", "survey-invitation"), ("status", "sent")))] == 1
    assert samples[("valuepulse_outbox_messages", (("kind", "alert-notification"), ("status", "failed")))] == 1


@pytest.mark.django_db
def test_metrics_give_task_runs_and_failures(client):
    heartbeats.count_task_run("core.tasks.sweep_outbox", failed=False)
    heartbeats.count_task_run("core.tasks.sweep_outbox", failed=True)
    samples = _samples(client.get("/metrics"))
    assert samples[("valuepulse_task_runs_total", (("task", "core.tasks.sweep_outbox"),))] == 2
    assert samples[("valuepulse_task_failures_total", (("task", "core.tasks.sweep_outbox"),))] == 1


@pytest.mark.django_db
def test_metrics_give_alerts_raised_and_answer_to_alert_latency(client):
    answered = timezone.now() - timedelta(hours=1)
    AlertFactory(response=ResponseFactory(score=2, submitted_at=answered), created_at=answered + timedelta(seconds=90))
    AlertFactory(response=ResponseFactory(score=3, submitted_at=answered), created_at=answered + timedelta(minutes=50))
    samples = _samples(client.get("/metrics"))
    assert samples[("valuepulse_alerts_raised_total", (("kind", "at_risk"),))] == 2
    bucket = "valuepulse_answer_to_alert_seconds_bucket"
    assert samples[(bucket, (("le", "60.0"),))] == 0
    assert samples[(bucket, (("le", "120.0"),))] == 1
    assert samples[(bucket, (("le", "3600.0"),))] == 2
    assert samples[(bucket, (("le", "+Inf"),))] == 2


@pytest.mark.django_db
def test_metrics_refuse_an_address_not_allowed(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert b"valuepulse" not in response.content


@pytest.mark.django_db
def test_metrics_answer_a_network_allowed(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["198.51.100.0/24"]
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_metrics_answer_the_bearer_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret").status_code == 403


@pytest.mark.django_db
def test_the_allowed_address_is_the_client_behind_our_proxy(client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    # The proxy (127.0.0.1) forwards a request from outside: refused.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=OUTSIDE).status_code == 403

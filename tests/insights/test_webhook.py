"""The optional outgoing webhook, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Band
from core import outbox
from insights.alerts import services, webhooks
from insights.models import Alert, AlertKind
from surveys.models import Response, Survey
from surveys.services import record_response
from tests.factories import CustomerFactory, UserFactory, sent_invitation
from tests.support.webhook import HANG, webhook_receiver

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def receiver(settings):
    settings.SITE_URL = "https://vp.example"
    with webhook_receiver() as receiver:
        settings.ALERT_WEBHOOK_URL = receiver.url
        settings.ALERT_WEBHOOK_SECRET = SECRET
        yield receiver


@pytest.fixture
def customer():
    manager = UserFactory(username="ana", email="ana@example.com")
    return CustomerFactory(
        name="Acme & <Sons>",
        external_id="CRM-ACME",
        tier=1,
        revenue_12m=Decimal("125000.00"),
        on_time_rate=0.5,
        account_manager=manager,
    )


def make_alert(customer, *, now=None, **fields) -> Alert:
    now = now or timezone.now()
    invitation = sent_invitation(delivery__customer=customer)
    response = Response.objects.create(
        invitation=invitation,
        customer=customer,
        survey=Survey.default(),
        score=3,
        band=Band.AT_RISK,
        comment="Late again, and nobody called.",
        first_submitted_at=now,
        submitted_at=now,
        needs_evaluation=False,
    )
    values = {
        "response": response,
        "survey": response.survey,
        "customer": customer,
        "kind": AlertKind.AT_RISK,
        "priority": 1,
        "high_value": True,
        "assignee": customer.account_manager,
        "tier": customer.tier,
        "revenue_12m": customer.revenue_12m,
        "on_time_rate": customer.on_time_rate,
        "score": 3,
        "previous_score": 8,
        "created_at": now,
        "due_at": now + timedelta(hours=4),
        "notified_at": now,
        "webhook_next_attempt_at": now,
    }
    alert = Alert.objects.create(**(values | fields))
    if alert.webhook_next_attempt_at is not None:  # as raising it does
        services.queue_webhook(alert)
    return alert


def refreshed(alert: Alert) -> Alert:
    alert.refresh_from_db()
    return alert


class TestWhatIsSent:
    def test_the_body_is_json_with_the_alert_and_the_customer(self, receiver, customer):
        alert = make_alert(customer)

        assert outbox.send_due() == 1

        (request,) = receiver.received()
        assert request.path == "/hooks/valuepulse"
        assert request.headers["Content-Type"] == "application/json; charset=utf-8"
        body = json.loads(request.body)
        body.pop("text")
        assert body == {
            "event": "alert.raised",
            "id": alert.pk,
            "kind": "at_risk",
            "priority": 1,
            "high_value": True,
            "customer": {"external_id": "CRM-ACME", "name": "Acme & <Sons>"},
            "tier": 1,
            "revenue_12m": "125000.00",
            "score": 3,
            "previous_score": 8,
            "comment": "Late again, and nobody called.",
            "lost_contact": None,
            "created_at": alert.created_at.isoformat(),
            "due_at": alert.due_at.isoformat(),
            "url": f"https://vp.example/alerts/{alert.pk}/",
        }

    def test_the_slack_text_is_one_line_with_the_rank_reason_and_a_link(self, receiver, customer):
        alert = make_alert(customer)

        outbox.send_due()

        text = json.loads(receiver.received()[0].body)["text"]
        assert "\n" not in text
        assert text == (
            "High-value churn risk: Acme &amp; &lt;Sons&gt; (CRM-ACME). Critical priority: tier 1; "
            "€125,000 revenue in 12 months; scored 3, down from 8; pays 50% of invoices on time. "
            f"<https://vp.example/alerts/{alert.pk}/|Open the alert>"
        )

    def test_a_decline_alert_says_so(self, receiver, customer):
        make_alert(customer, kind=AlertKind.DECLINE, priority=2, high_value=False, tier=3)

        outbox.send_due()

        assert json.loads(receiver.received()[0].body)["text"].startswith("High alert (score decline): ")

    def test_the_signature_is_the_hmac_sha256_of_the_raw_body_with_the_secret(self, receiver, customer):
        make_alert(customer)
        outbox.send_due()

        (request,) = receiver.received()
        expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-ValuePulse-Signature"] == f"sha256={expected}"
        assert webhooks.sign(request.body, SECRET) == expected
        assert webhooks.sign(request.body, "another secret") != expected

    def test_without_a_secret_it_sends_unsigned(self, receiver, customer, settings):
        settings.ALERT_WEBHOOK_SECRET = ""

        make_alert(customer)
        outbox.send_due()

        assert "X-ValuePulse-Signature" not in receiver.received()[0].headers


class TestWhenAnAlertIsRaised:
    def answer(self, customer, django_capture_on_commit_callbacks, score: int = 2) -> Response:
        invitation = sent_invitation(delivery__customer=customer)
        with django_capture_on_commit_callbacks(execute=True):
            # Given two minutes ago: its quiet period over, the evaluation raises its alert at once.
            return record_response(
                invitation=invitation, score=score, comment="Too late", now=timezone.now() - timedelta(minutes=2)
            )

    def test_an_at_risk_answer_posts_its_alert_once_committed(
        self, receiver, customer, django_capture_on_commit_callbacks
    ):
        response = self.answer(customer, django_capture_on_commit_callbacks)

        alert = Alert.objects.get(response=response)
        (request,) = receiver.received()
        assert json.loads(request.body)["id"] == alert.pk
        assert alert.webhook_sent_at is not None
        assert (alert.webhook_attempts, alert.webhook_error, alert.webhook_next_attempt_at) == (1, "", None)

    def test_without_a_url_nothing_is_sent_and_nothing_is_recorded_as_failed(
        self, receiver, customer, settings, django_capture_on_commit_callbacks
    ):
        settings.ALERT_WEBHOOK_URL = ""

        response = self.answer(customer, django_capture_on_commit_callbacks)

        alert = Alert.objects.get(response=response)
        assert (alert.webhook_sent_at, alert.webhook_attempts, alert.webhook_error) == (None, 0, "")
        assert alert.webhook_next_attempt_at is None
        assert outbox.send_due() == 0
        assert outbox.send_due() == 0
        assert receiver.received() == []
        assert refreshed(alert).webhook_attempts == 0

    def test_alerts_raised_before_a_url_was_set_are_not_sent_later(self, receiver, customer, settings):
        settings.ALERT_WEBHOOK_URL = ""
        alert = make_alert(customer, webhook_next_attempt_at=None)
        settings.ALERT_WEBHOOK_URL = receiver.url

        assert outbox.send_due() == 0
        assert receiver.received() == []
        assert refreshed(alert).webhook_attempts == 0

    def test_the_sweep_sends_what_a_lost_message_missed(self, receiver, customer):
        alert = make_alert(customer)

        assert outbox.send_due() == 1

        assert len(receiver.received()) == 1
        assert refreshed(alert).webhook_sent_at is not None

    def test_a_sent_alert_is_never_sent_again(self, receiver, customer):
        alert = make_alert(customer)
        outbox.send_due()

        assert outbox.send_due(now=timezone.now() + timedelta(days=1)) == 0
        assert len(receiver.received()) == 1
        assert refreshed(alert).webhook_attempts == 1


class TestFailuresAndRetries:
    def test_a_500_is_recorded_with_the_reason_and_retried_after_the_backoff(self, receiver, customer):
        now = timezone.now()
        alert = make_alert(customer, now=now)
        receiver.answers = [500]

        assert outbox.send_due(now=now) == 0

        alert = refreshed(alert)
        assert alert.webhook_sent_at is None
        assert alert.webhook_attempts == 1
        assert alert.webhook_next_attempt_at == now + MINUTE
        assert "attempt 1 of 5: HTTP 500 Internal Server Error: invalid_payload; next try at" in alert.webhook_error
        assert alert.webhook_error.startswith(f"{timezone.now():%Y-%m-%d}")

        assert outbox.send_due(now=now + 30 * timedelta(seconds=1)) == 0
        assert len(receiver.received()) == 1

        assert outbox.send_due(now=now + MINUTE) == 1
        alert = refreshed(alert)
        assert len(receiver.received()) == 2
        assert receiver.received()[0].body == receiver.received()[1].body
        assert alert.webhook_sent_at is not None
        assert (alert.webhook_attempts, alert.webhook_next_attempt_at) == (2, None)
        # The earlier failure stays on record for staff.
        assert "HTTP 500" in alert.webhook_error

    def test_the_wait_doubles_from_one_to_eight_minutes(self, receiver, customer):
        now = timezone.now()
        alert = make_alert(customer, now=now)
        receiver.answers = [500] * 4
        waits = []
        for _ in range(4):
            outbox.send_due(now=now)
            next_attempt_at = refreshed(alert).webhook_next_attempt_at
            waits.append(next_attempt_at - now)
            now = next_attempt_at
        assert waits == [MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE]

    def test_it_gives_up_after_five_attempts_and_says_so(self, receiver, customer, caplog):
        now = timezone.now()
        alert = make_alert(customer, now=now)
        receiver.answers = [500] * 10

        with caplog.at_level(logging.WARNING, logger="insights.alerts.services"):
            for minutes in range(0, 60, 1):
                outbox.send_due(now=now + minutes * MINUTE)

        alert = refreshed(alert)
        assert len(receiver.received()) == 5
        assert alert.webhook_attempts == 5
        assert alert.webhook_sent_at is None and alert.webhook_next_attempt_at is None
        assert alert.webhook_error.endswith("attempt 5 of 5: HTTP 500 Internal Server Error: invalid_payload; gave up.")
        ours = [record for record in caplog.records if record.name == "insights.alerts.services"]
        assert [record.levelname for record in ours] == ["WARNING"] * 4 + ["ERROR"]
        assert f"Webhook for alert {alert.pk} to 127.0.0.1" in ours[-1].getMessage()

    def test_a_receiver_that_hangs_is_given_up_on_within_the_timeout(self, receiver, customer, monkeypatch):
        monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
        alert = make_alert(customer)
        receiver.answers = [HANG]

        started = time.monotonic()
        assert outbox.send_due() == 0
        elapsed = time.monotonic() - started

        assert 0.4 < elapsed < 2
        alert = refreshed(alert)
        assert "attempt 1 of 5: no answer within 0.5 s; next try at" in alert.webhook_error
        assert alert.webhook_next_attempt_at is not None

    def test_a_refused_connection_is_recorded(self, customer, settings):
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{port}/hook"
        alert = make_alert(customer)

        assert outbox.send_due() == 0

        assert "could not connect: [Errno 111] Connection refused" in refreshed(alert).webhook_error

    def test_a_redirect_is_a_failure_not_a_delivery(self, receiver, customer):
        alert = make_alert(customer)
        receiver.answers = [302]

        assert outbox.send_due() == 0

        assert "HTTP 302" in refreshed(alert).webhook_error
        assert len(receiver.received()) == 1

    def test_neither_the_secret_nor_the_url_path_reaches_the_log_or_the_alert(
        self, receiver, customer, settings, caplog
    ):
        settings.ALERT_WEBHOOK_URL = receiver.url.replace("/hooks/valuepulse", "/services/T0/B0/XyZsecretPath")
        alert = make_alert(customer)
        receiver.answers = [500]

        with caplog.at_level(logging.DEBUG):
            outbox.send_due()

        logged = caplog.text + refreshed(alert).webhook_error
        assert "HTTP 500" in logged
        assert "XyZsecretPath" not in logged
        assert SECRET not in logged

    @pytest.mark.parametrize(
        ("url", "reason"),
        [("ftp://127.0.0.1/hook", "not an http(s) URL"), ("http://[127.0.0.1/hook", "not a valid URL")],
    )
    def test_a_bad_url_is_recorded_never_raised(self, customer, settings, url, reason):
        settings.ALERT_WEBHOOK_URL = url
        alert = make_alert(customer)

        assert outbox.send_due() == 0

        assert reason in refreshed(alert).webhook_error

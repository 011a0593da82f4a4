"""/health/live and /health/ready: what a load balancer, the monitoring and staff see."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from core import heartbeats
from core.models import Heartbeat, OutgoingMessage, TaskTally
from tests.factories import SentMessageFactory, StaffFactory, UserFactory

OUTSIDE = "198.51.100.7"  # not in METRICS_ALLOWED_ADDRESSES


@pytest.fixture
def all_alive(db):
    """A worker's heartbeat and beat's tick a few seconds ago, and nothing waiting in the outbox."""
    heartbeats.record_heartbeat("worker:one@host")
    heartbeats.record_heartbeat("beat")


def _json(client, **extra):
    return client.get("/health/ready", HTTP_ACCEPT="application/json", **extra)


def _age(name: str, seconds: int) -> None:
    Heartbeat.objects.filter(name=name).update(seen_at=timezone.now() - timedelta(seconds=seconds))


def test_live_answers_without_the_database(client):
    # No `db` fixture: pytest-django fails any database access.
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_every_check_passes(client, all_alive):
    response = _json(client)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "worker", "beat", "outbox"}


def test_ready_names_a_worker_heartbeat_older_than_the_limit(client, all_alive, settings):
    settings.HEALTH_WORKER_MAX_AGE = 180
    _age("worker:one@host", 181)
    response = _json(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert "181 s old" in response.json()["checks"]["worker"]["detail"]


def test_ready_fails_when_no_worker_ever_beat(client, all_alive):
    Heartbeat.objects.filter(name__startswith="worker:").delete()
    assert _json(client).json()["failing"] == ["worker"]


def test_one_live_worker_of_two_is_enough(client, all_alive):
    heartbeats.record_heartbeat("worker:two@host")
    _age("worker:one@host", 3600)
    assert _json(client).status_code == 200


def test_ready_names_an_old_beat_tick(client, all_alive, settings):
    settings.HEALTH_BEAT_MAX_AGE = 180
    _age("beat", 600)
    response = _json(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_ready_names_an_outbox_message_due_too_long(client, all_alive, settings):
    settings.HEALTH_OUTBOX_MAX_AGE = 900
    SentMessageFactory(status=OutgoingMessage.Status.QUEUED, sent_at=None,
                       next_attempt_at=timezone.now() - timedelta(seconds=1000))
    response = _json(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["outbox"]


def test_a_message_due_later_does_not_count_as_waiting(client, all_alive, settings):
    settings.HEALTH_OUTBOX_MAX_AGE = 900
    SentMessageFactory(status=OutgoingMessage.Status.QUEUED, sent_at=None,
                       next_attempt_at=timezone.now() + timedelta(hours=2))
    SentMessageFactory(status=OutgoingMessage.Status.FAILED, next_attempt_at=timezone.now() - timedelta(days=2))
    assert _json(client).status_code == 200


def test_ready_names_an_unreachable_cache(client, all_alive, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    response = _json(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


def test_ready_names_an_unreachable_broker(client, all_alive):
    from kombu import Connection

    with mock.patch("core.health.current_app.connection_for_write",
                    return_value=Connection("redis://127.0.0.1:1/0", connect_timeout=1)):
        response = _json(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_a_probe_from_outside_sees_only_the_status(client, all_alive):
    _age("beat", 3600)
    response = _json(client, REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    plain = client.get("/health/ready", REMOTE_ADDR=OUTSIDE)
    assert plain.status_code == 503 and plain.content == b"unavailable\n"
    assert b"beat" not in plain.content


def test_a_signed_in_non_staff_user_sees_only_the_status(client, all_alive):
    client.force_login(UserFactory())
    assert _json(client, REMOTE_ADDR=OUTSIDE).json() == {"status": "ok"}


def test_staff_see_each_check_as_a_page(client, all_alive):
    _age("beat", 3600)
    client.force_login(StaffFactory())
    response = client.get("/health/ready", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 503
    page = response.content.decode()
    assert "not ready" in page and "beat last sent a periodic task" in page
    assert client.get("/health/ready?format=json", REMOTE_ADDR=OUTSIDE).json()["failing"] == ["beat"]


def test_the_monitoring_sees_details_with_the_token(client, all_alive, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    response = _json(client, REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert "checks" in response.json()
    wrong = _json(client, REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.json() == {"status": "ok"}


# --- What the workers and beat write.
def test_a_heartbeat_writes_over_the_last_one(db):
    heartbeats.record_heartbeat("worker:a@host")
    first = Heartbeat.objects.get(name="worker:a@host").seen_at
    heartbeats.record_heartbeat("worker:a@host")
    assert Heartbeat.objects.count() == 1
    assert Heartbeat.objects.get().seen_at >= first


def test_task_runs_and_failures_are_tallied_by_name(db):
    heartbeats.count_task_run("core.tasks.sweep_outbox", failed=False)
    heartbeats.count_task_run("core.tasks.sweep_outbox", failed=True)
    tally = TaskTally.objects.get(task="core.tasks.sweep_outbox")
    assert (tally.runs, tally.failures) == (2, 1)


def test_tasks_run_inline_are_not_tallied(db):
    from core.tasks import sweep_outbox

    sweep_outbox.delay()
    assert not TaskTally.objects.exists()


def test_beat_records_its_tick_when_it_sends_a_periodic_task(db, monkeypatch):
    monkeypatch.setattr(heartbeats, "_beat", {"running": False, "recorded": 0.0})
    heartbeats.task_sent()
    assert not Heartbeat.objects.exists()  # a web process publishing is not beat
    heartbeats.beat_started()
    assert Heartbeat.objects.filter(name="beat").exists()


def test_with_no_database_server_at_all_ready_answers_503_naming_it(tmp_path):
    """A web process whose PostgreSQL is unreachable (nothing listens on the port)."""
    import json
    import subprocess
    import sys

    from tests.support.processes import PROJECT_DIR, child_environment

    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "inside = Client(HTTP_HOST='127.0.0.1').get('/health/ready?format=json');"
        "outside = Client(HTTP_HOST='127.0.0.1', REMOTE_ADDR='198.51.100.7').get('/health/ready');"
        "print(json.dumps([inside.status_code, inside.json(), outside.status_code, outside.content.decode()]))"
    )
    env = child_environment(var_dir=tmp_path, redis_url=None, DJANGO_SETTINGS_MODULE="config.settings")
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    inside_status, inside, outside_status, outside = json.loads(result.stdout.strip().splitlines()[-1])
    assert inside_status == 503 and inside["failing"] == ["database", "worker", "beat", "outbox"]
    assert (outside_status, outside) == (503, "unavailable\n")

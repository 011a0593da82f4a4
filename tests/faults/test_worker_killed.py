"""A worker killed mid-send loses nothing and kills no link: a real Celery worker on
Redis sends survey emails, then alert emails, to a real SMTP server and is SIGKILLed
halfway: its main process (the solo pool, which runs the tasks itself), or the prefork
pool child that is talking to the mail server. A new worker (or the pool's replacement
child) finishes. At most the one message in flight goes twice."""

from __future__ import annotations

import re
import signal
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import OutgoingMessage
from insights.models import Alert
from surveys.models import Invitation, InvitationStatus
from tests.factories import CustomerFactory, ResponseFactory, UserFactory, due_invitations, nothing_left_to_send
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import (
    celery_worker,
    child_environment,
    pool_child_connected_to,
    publish_to_worker,
    wait_until,
)
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import smtp_sink

INVITATIONS = 100
ALERTS = 40
SENDING_TIMEOUT_SECONDS = 3
SMTP_DELAY = 0.02  # the mail server takes its time, so the kill lands mid-send


def tokens_in(message, site_url: str) -> set[str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return set(re.findall(re.escape(site_url) + r"/s/([A-Za-z0-9_-]+)/\?score=\d+", text))


SITE_URL = "http://testserver"


def worker_environment(tmp_path, sink) -> dict[str, str]:
    """A worker on Redis sending to `sink`, that takes a message left "sending" for lost
    after a few seconds instead of ten minutes."""
    return child_environment(
        var_dir=tmp_path,
        redis_url=require_redis(),
        EMAIL_HOST=sink.host,
        EMAIL_PORT=str(sink.port),
        SITE_URL=SITE_URL,
        OUTBOX_SENDING_TIMEOUT=str(SENDING_TIMEOUT_SECONDS),
    )


def send_survey_emails(env, queue: str) -> None:
    publish_to_worker(env, task="surveys.tasks.send_due_invitations", queue=queue)


def raise_alerts_then_send_their_emails(env, queue: str) -> None:
    """The evaluation sweep raises the alerts and queues their emails; then the outbox
    sends them (asked on this test's own queue, where the app would publish to its default)."""
    publish_to_worker(env, task="insights.tasks.evaluate_pending", queue=queue)
    assert wait_until(lambda: Alert.objects.count() == ALERTS, timeout=40)
    publish_to_worker(env, task="core.tasks.send_outbox", queue=queue)


def claims_expired() -> bool:
    """No message is held under a claim younger than the sending timeout: the outbox's
    sweep takes every claim left "sending" for a dead worker's."""
    recent = timezone.now() - timedelta(seconds=SENDING_TIMEOUT_SECONDS)
    return not OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING, claimed_at__gte=recent).exists()


def finish_after_the_sending_timeout(env, queue: str) -> None:
    """What beat does once the dead worker's claim has expired (waited for, not slept
    through: the claim was made before the kill): sweep the outbox."""
    assert wait_until(claims_expired, timeout=SENDING_TIMEOUT_SECONDS + 30, interval=0.1)
    publish_to_worker(env, task=["surveys.tasks.send_due_invitations", "core.tasks.sweep_outbox"], queue=queue)


def kill_the_main_process_mid_send(tmp_path, sink, *, start, total: int, finished) -> None:
    """A worker (the solo pool: its main process runs the tasks) is SIGKILLed once a
    quarter of the `total` messages `start` sends have reached the mail server; a second
    worker, started in its place, finishes until `finished()`."""
    env, queue = worker_environment(tmp_path, sink), f"test-{uuid.uuid4().hex}"
    with celery_worker(env, queue=queue, log=tmp_path / "first.log", name="first") as first:
        start(env, queue)
        assert wait_until(lambda: len(sink.received()) >= total // 4, timeout=60), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert len(sink.received()) < total, "the worker finished before it could be killed"
    assert OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING).exists()

    with celery_worker(env, queue=queue, log=tmp_path / "second.log", name="second"):
        finish_after_the_sending_timeout(env, queue)
        done = wait_until(finished, timeout=60)
    assert done, (tmp_path / "second.log").read_text()


def kill_a_pool_child_mid_send(tmp_path, sink, *, start, total: int, finished) -> None:
    """A worker with a prefork pool of two loses the child talking to the mail server
    (SIGKILL, as the OOM killer would) once a quarter of the `total` messages `start`
    sends have reached it; the main process starts a new child and (reject on worker
    lost) puts the dead child's task message back; it finishes until `finished()`."""
    env, queue, log = worker_environment(tmp_path, sink), f"test-{uuid.uuid4().hex}", tmp_path / "worker.log"
    with celery_worker(env, queue=queue, log=log, concurrency=2) as worker:
        start(env, queue)
        assert wait_until(lambda: len(sink.received()) >= total // 4, timeout=60), log.read_text()
        children: list = []
        assert wait_until(lambda: children.append(pool_child_connected_to(worker, sink.port)) or children[-1],
                          timeout=20), log.read_text()
        tasks_done = log.read_text().count(" succeeded in ")
        children[-1].send_signal(signal.SIGKILL)
        assert wait_until(lambda: "exited with 'signal 9" in log.read_text(), timeout=20), log.read_text()
        assert len(sink.received()) < total, "the child finished before it could be killed"
        # The task the child died in runs again in a new child. The sweep waits for it: with
        # a sending timeout of seconds (ten minutes in production) it would otherwise take
        # the live child's claim for a dead one's.
        assert wait_until(lambda: log.read_text().count(" succeeded in ") > tasks_done, timeout=30), log.read_text()

        finish_after_the_sending_timeout(env, queue)
        done = wait_until(finished, timeout=60)
        assert worker.poll() is None  # the main process lived on
    assert done, log.read_text()


def assert_every_contact_got_one_working_link(received, client) -> None:
    recipients = Counter(str(message["To"]) for message in received)
    assert len(recipients) == INVITATIONS  # every contact got the survey
    assert sum(count - 1 for count in recipients.values()) <= 1  # at most the one in flight twice
    # The one in flight went again under a new Message-ID: the first was never recorded.
    assert check_invariants(sink_message_ids=message_ids(received), duplicates_allowed=1) == []
    assert Invitation.objects.filter(status=InvitationStatus.SENT, sent_at__isnull=False).count() == INVITATIONS

    tokens = set().union(*(tokens_in(message, SITE_URL) for message in received))
    assert len(tokens) == INVITATIONS  # a message sent twice carried the same link
    for number, token in enumerate(sorted(tokens)):
        # Each from an address of its own, as customers are: the public pages' rate limit
        # counts per address, in the shared cache other tests use too.
        page = client.get(f"/s/{token}/", REMOTE_ADDR=f"10.77.{number // 256}.{number % 256}")
        assert page.status_code == 200, token


KILLS = pytest.mark.parametrize(
    "kill", [kill_the_main_process_mid_send, kill_a_pool_child_mid_send], ids=["main process", "pool child"]
)


@KILLS
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_loses_no_email_and_no_link(tmp_path, client, kill):
    require_postgresql()
    due_invitations(INVITATIONS)
    with smtp_sink(delay=SMTP_DELAY) as sink:
        kill(tmp_path, sink, start=send_survey_emails, total=INVITATIONS, finished=nothing_left_to_send)
        received = sink.received()
    assert_every_contact_got_one_working_link(received, client)


def answers_below_six(count: int) -> list[str]:
    """`count` answers of 3 given ten minutes ago, not yet evaluated: each raises an
    alert for its customer's account manager, a person of its own. Their addresses."""
    managers = []
    for _ in range(count):
        manager = UserFactory()
        ResponseFactory(customer=CustomerFactory(account_manager=manager), score=3, needs_evaluation=True,
                        submitted_at=timezone.now() - timedelta(minutes=10))
        managers.append(manager.email)
    return managers


def alerts_notified() -> bool:
    outbox = OutgoingMessage.objects.filter(kind="alert-notification")
    return Alert.objects.count() == ALERTS and outbox.filter(status=OutgoingMessage.Status.SENT).count() == ALERTS


def assert_every_assignee_notified_once_but_one(received, managers: list[str]) -> None:
    recipients = Counter(str(message["To"]) for message in received)
    assert set(recipients) == set(managers)  # every alert's assignee heard of it
    assert sum(count - 1 for count in recipients.values()) <= 1  # at most the one in flight twice
    assert Alert.objects.count() == ALERTS
    assert check_invariants(sink_message_ids=message_ids(received), duplicates_allowed=1) == []


@KILLS
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_alert_emails_go_loses_no_notification(tmp_path, kill):
    require_postgresql()
    managers = answers_below_six(ALERTS)
    with smtp_sink(delay=SMTP_DELAY) as sink:
        kill(tmp_path, sink, start=raise_alerts_then_send_their_emails, total=ALERTS, finished=alerts_notified)
        received = sink.received()
    assert_every_assignee_notified_once_but_one(received, managers)


def terminate_other_backends() -> int:
    """Ends every other connection to this test's database, as a failover or an
    administrator would: the worker's among them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_database_connections_killed_mid_send_lose_no_email(tmp_path):
    require_postgresql()
    due_invitations(INVITATIONS)
    queue = f"test-{uuid.uuid4().hex}"

    with smtp_sink(delay=SMTP_DELAY) as sink:
        env = worker_environment(tmp_path, sink)
        with celery_worker(env, queue=queue, log=tmp_path / "worker.log", name="worker"):
            publish_to_worker(env, task="surveys.tasks.send_due_invitations", queue=queue)
            assert wait_until(lambda: len(sink.received()) >= INVITATIONS // 4, timeout=60)
            assert terminate_other_backends() >= 1
            assert len(sink.received()) < INVITATIONS, "the worker finished before its connection was killed"

            # The same worker goes on: its next task opens a new connection.
            finish_after_the_sending_timeout(env, queue)
            finished = wait_until(nothing_left_to_send, timeout=60)
        received = sink.received()

    log = (tmp_path / "worker.log").read_text()
    assert finished, log
    assert re.search(r"OperationalError|InterfaceError", log), "the worker never noticed its connection go"
    recipients = Counter(str(message["To"]) for message in received)
    assert len(recipients) == INVITATIONS
    assert sum(count - 1 for count in recipients.values()) <= 1
    assert check_invariants(sink_message_ids=message_ids(received), duplicates_allowed=1) == []

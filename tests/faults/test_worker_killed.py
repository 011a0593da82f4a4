"""A worker killed mid-send loses nothing and kills no link: a real Celery worker on
Redis sends survey emails to a real SMTP server, is SIGKILLed halfway, and a new worker
finishes. At most the one message in flight goes twice."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections import Counter

import pytest

from core.models import OutgoingMessage
from surveys.models import Invitation, InvitationStatus
from tests.factories import due_invitations, nothing_left_to_send
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import celery_worker, child_environment, enqueue_from_another_process, wait_until
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import smtp_sink

INVITATIONS = 500
SENDING_TIMEOUT_SECONDS = 3


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


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_loses_no_email_and_no_link(tmp_path, client):
    require_postgresql()
    due_invitations(INVITATIONS)
    queue = f"test-{uuid.uuid4().hex}"

    with smtp_sink(delay=0.01) as sink:
        env = worker_environment(tmp_path, sink)
        with celery_worker(env, queue=queue, log=tmp_path / "first.log", name="first") as first:
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            assert wait_until(lambda: len(sink.received()) >= INVITATIONS // 4, timeout=60), (
                tmp_path / "first.log"
            ).read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        received_before = len(sink.received())
        assert received_before < INVITATIONS, "the worker finished before it could be killed"
        assert OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING).exists()

        time.sleep(SENDING_TIMEOUT_SECONDS + 1)
        with celery_worker(env, queue=queue, log=tmp_path / "second.log", name="second"):
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            enqueue_from_another_process(env, task="core.tasks.sweep_outbox", queue=queue)
            finished = wait_until(nothing_left_to_send, timeout=120)
        received = sink.received()

    assert finished, (tmp_path / "second.log").read_text()
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

    with smtp_sink(delay=0.01) as sink:
        env = worker_environment(tmp_path, sink)
        with celery_worker(env, queue=queue, log=tmp_path / "worker.log", name="worker"):
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            assert wait_until(lambda: len(sink.received()) >= INVITATIONS // 4, timeout=60)
            assert terminate_other_backends() >= 1
            assert len(sink.received()) < INVITATIONS, "the worker finished before its connection was killed"

            time.sleep(SENDING_TIMEOUT_SECONDS + 1)
            # The same worker goes on: its next task opens a new connection.
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            enqueue_from_another_process(env, task="core.tasks.sweep_outbox", queue=queue)
            finished = wait_until(nothing_left_to_send, timeout=120)
        received = sink.received()

    log = (tmp_path / "worker.log").read_text()
    assert finished, log
    assert re.search(r"OperationalError|InterfaceError", log), "the worker never noticed its connection go"
    recipients = Counter(str(message["To"]) for message in received)
    assert len(recipients) == INVITATIONS
    assert sum(count - 1 for count in recipients.values()) <= 1
    assert check_invariants(sink_message_ids=message_ids(received), duplicates_allowed=1) == []

"""Mail faults (issue 16, proof 4): the SMTP server down, then up: every message sent
exactly once; a server that refuses for good: every message failed with its reason, and
listed for staff in the outbox admin. Real SMTP over TCP on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from core import outbox, retry
from core.models import OutgoingMessage
from surveys import services as survey_services
from tests.factories import StaffFactory, due_invitations, nothing_left_to_send
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import celery_worker, child_environment, enqueue_from_another_process, wait_until
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import TRANSIENT_RECIPIENT, free_port, smtp_sink

INVITATIONS = 40


@pytest.mark.django_db(transaction=True)
def test_smtp_down_then_up_every_message_goes_exactly_once(tmp_path):
    require_postgresql()
    queue = f"test-{uuid.uuid4().hex}"
    port = free_port()  # nothing listens here yet: the mail server is down
    env = child_environment(var_dir=tmp_path, redis_url=require_redis(), EMAIL_HOST="127.0.0.1",
                            EMAIL_PORT=str(port), SITE_URL="http://testserver")
    log = tmp_path / "worker.log"
    due_invitations(INVITATIONS)

    with celery_worker(env, queue=queue, log=log) as worker:
        enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
        assert wait_until(lambda: "Cannot reach the mail service" in log.read_text(), timeout=30), log.read_text()
        # Waiting, not failed: nobody's fault in the batch, and no attempt counted.
        waiting = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.QUEUED, attempts=0)
        assert wait_until(lambda: waiting.count() == INVITATIONS, timeout=10)

        with smtp_sink(port=port) as sink:  # the server is back
            enqueue_from_another_process(env, task="core.tasks.sweep_outbox", queue=queue)  # as beat does
            finished = wait_until(nothing_left_to_send, timeout=30)
            received = sink.received()
        assert worker.poll() is None

    assert finished, log.read_text()
    recipients = Counter(str(message["To"]) for message in received)
    assert len(recipients) == INVITATIONS and set(recipients.values()) == {1}
    assert check_invariants(sink_message_ids=message_ids(received)) == []


@pytest.mark.django_db
def test_refused_recipients_fail_alone_with_their_reason_and_staff_see_them(smtp_server, client):
    due_invitations(3, address="gone{}@refuse.test", reference="GONE-{}")  # 550 for these
    due_invitations(2, address="fine{}@example.com", reference="FINE-{}")
    survey_services.send_due_invitations()

    outbox.send_due()

    failed = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.FAILED)
    assert failed.count() == 3
    assert all("550" in message.last_error and "No such user" in message.last_error for message in failed)
    assert OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).count() == 2
    assert check_invariants(sink_message_ids=message_ids(smtp_server.received())) == []

    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/core/outgoingmessage/", {"status__exact": "failed"})
    assert page.status_code == 200
    listed = page.content.decode()
    assert all(message.key in listed for message in failed)
    assert not any(message.key in listed for message in OutgoingMessage.objects.filter(status="sent"))


@pytest.mark.django_db
def test_a_recipient_deferred_every_time_fails_after_the_retry_cap_with_its_reason(smtp_server):
    due_invitations(1, address=TRANSIENT_RECIPIENT)  # 451 every time
    survey_services.send_due_invitations()
    now = timezone.now()

    for attempt in range(1, retry.MAX_ATTEMPTS + 1):
        outbox.send_due(now=now)
        message = OutgoingMessage.objects.get()
        assert message.attempts == attempt
        now += retry.retry_delay(attempt) + timedelta(seconds=1)

    assert message.status == OutgoingMessage.Status.FAILED
    assert f"attempt {retry.MAX_ATTEMPTS} of {retry.MAX_ATTEMPTS}" in message.last_error and "451" in message.last_error
    assert smtp_server.received() == []
    assert check_invariants(sink_message_ids=[], now=now) == []

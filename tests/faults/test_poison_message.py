"""Poison messages (issue 16, proof 1): a message that can never go stops, fails with its
reason, and is listed for staff, while everything else goes out. One that fails to build
fails at once, alone, under a real worker; one that kills the worker sending it every
time fails after retry.MAX_ATTEMPTS (always deferred, 451, is tests/faults/test_mail_faults.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from core import outbox, retry
from core.models import OutgoingMessage
from surveys import services as survey_services
from surveys.models import Invitation
from tests.factories import StaffFactory, due_invitations
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import celery_worker, child_environment, publish_to_worker, wait_until
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import smtp_sink

Status = OutgoingMessage.Status
GOOD = 20


def failed_list_for_staff(client) -> str:
    """The outbox's failed messages as staff see them in the admin."""
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/core/outgoingmessage/", {"status__exact": "failed"})
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_message_that_cannot_be_built_fails_alone_with_its_reason_and_staff_see_it(tmp_path, client):
    require_postgresql()
    due_invitations(GOOD)
    # Its invitation is gone (a data bug, a row deleted by hand): building it raises.
    poison = OutgoingMessage.objects.create(
        key="survey-invitation:999999999", kind=survey_services.INVITATION_MESSAGE, object_id=999_999_999,
        next_attempt_at=timezone.now(),
    )
    queue, log = f"test-{uuid.uuid4().hex}", tmp_path / "worker.log"

    with smtp_sink() as sink:
        env = child_environment(var_dir=tmp_path, redis_url=require_redis(), EMAIL_HOST=sink.host,
                                EMAIL_PORT=str(sink.port))
        with celery_worker(env, queue=queue, log=log) as worker:
            # Sending, then two sweeps as beat runs them: neither tries the poison again.
            publish_to_worker(
                env, task=["surveys.tasks.send_due_invitations", "core.tasks.sweep_outbox", "core.tasks.sweep_outbox"],
                queue=queue,
            )
            swept_twice = wait_until(lambda: log.read_text().count("core.tasks.sweep_outbox[") >= 4, timeout=30)
            assert worker.poll() is None  # the poison killed nothing
        received = sink.received()

    assert swept_twice, log.read_text()
    poison.refresh_from_db()
    assert (poison.status, poison.attempts) == (Status.FAILED, 1)
    assert "Invitation 999999999 does not exist." in poison.last_error
    assert OutgoingMessage.objects.filter(status=Status.SENT).count() == GOOD == len(received)
    assert check_invariants(sink_message_ids=message_ids(received)) == []

    listed = failed_list_for_staff(client)
    assert poison.key in listed and "Invitation 999999999 does not exist." in listed


def a_worker_takes_it_and_dies(*, now) -> None:
    """What a worker killed mid-send leaves of the messages it claimed: "sending", the
    attempt counted (core.outbox claims so), no outcome."""
    OutgoingMessage.objects.filter(status=Status.QUEUED).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )


@pytest.mark.django_db
def test_a_message_that_kills_its_worker_every_time_fails_after_the_retry_cap(client):
    due_invitations(1)
    now = timezone.now()
    survey_services.queue_due_invitations(now=now)

    for attempt in range(1, retry.MAX_ATTEMPTS + 1):
        a_worker_takes_it_and_dies(now=now)
        now += outbox.sending_timeout() + timedelta(seconds=1)
        released = outbox.release_stuck(now=now)
        message = OutgoingMessage.objects.get()
        assert (message.attempts, released) == (attempt, int(attempt < retry.MAX_ATTEMPTS))

    assert message.status == Status.FAILED
    reason = "the worker sending it stopped before recording the outcome, every time"
    assert f"attempt {retry.MAX_ATTEMPTS} of {retry.MAX_ATTEMPTS}: {reason}" in message.last_error
    assert reason in Invitation.objects.get().last_error  # the invitation is told, as for any failure
    assert reason in failed_list_for_staff(client)


@pytest.mark.django_db
def test_a_message_released_once_is_queued_again_with_its_attempt_counted():
    due_invitations(1)
    now = timezone.now()
    survey_services.queue_due_invitations(now=now)
    a_worker_takes_it_and_dies(now=now)

    assert outbox.release_stuck(now=now + outbox.sending_timeout() + timedelta(seconds=1)) == 1
    message = OutgoingMessage.objects.get()
    assert (message.status, message.attempts, message.next_attempt_at) == (Status.QUEUED, 1, now)

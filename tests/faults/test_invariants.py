"""The invariant checker (tests/support/invariants.py) finds each broken promise on a
hand-made broken state, and nothing on a sound one."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone

from core.models import OutgoingMessage
from insights.alerts.services import NOTIFICATION_MESSAGE, notification_key
from tests.factories import (
    AlertFactory,
    DeliveryFactory,
    InvitationFactory,
    ResponseFactory,
    SentMessageFactory,
    UserFactory,
)
from tests.support.invariants import check_invariants, message_ids

pytestmark = pytest.mark.django_db


def notified(alert) -> OutgoingMessage:
    return SentMessageFactory(kind=NOTIFICATION_MESSAGE, object_id=alert.pk, key=notification_key(alert))


def an_hour_ago():
    return timezone.now() - timedelta(hours=1)


def test_a_sound_state_breaks_no_promise():
    InvitationFactory()
    alert = AlertFactory(response__submitted_at=an_hour_ago(), assignee=UserFactory())
    ResponseFactory(score=9, submitted_at=an_hour_ago())
    sent = notified(alert)

    assert check_invariants(sink_message_ids=[sent.provider_message_id]) == []


def test_a_delivery_without_invitation_is_named():
    DeliveryFactory(reference="ORDER-LOST")

    assert check_invariants() == ["delivery ORDER-LOST has no invitation"]


def test_a_sent_message_the_sink_never_received_is_named():
    SentMessageFactory(key="survey-invitation:1", provider_message_id="<one@test>")

    assert check_invariants(sink_message_ids=[]) == [
        "sent message survey-invitation:1 reached the SMTP sink 0 times, not once"
    ]


def test_a_sent_message_received_twice_is_named():
    SentMessageFactory(key="survey-invitation:1", provider_message_id="<one@test>")

    assert check_invariants(sink_message_ids=["<one@test>", "<one@test>"]) == [
        "sent message survey-invitation:1 reached the SMTP sink 2 times, not once"
    ]


def test_a_received_message_no_row_records_counts_against_the_duplicates_allowed():
    SentMessageFactory(provider_message_id="<one@test>")
    received = ["<one@test>", "<unrecorded@test>"]

    assert check_invariants(sink_message_ids=received, duplicates_allowed=1) == []
    assert check_invariants(sink_message_ids=received) == [
        "the SMTP sink received 1 messages no sent outbox row records (at most 0 allowed)"
    ]


def test_message_ids_reads_what_the_sink_received():
    message = EmailMessage()
    message["Message-ID"] = "<one@test>"

    assert message_ids([message]) == ["<one@test>"]


def test_an_at_risk_answer_past_its_quiet_period_without_alert_is_named():
    answer = ResponseFactory(score=2, submitted_at=an_hour_ago())

    assert check_invariants() == [f"at-risk answer {answer.pk} (score 2) has 0 at-risk alerts, not one"]


def test_an_at_risk_answer_still_in_its_quiet_period_or_suspect_waits():
    ResponseFactory(score=2, submitted_at=timezone.now())
    ResponseFactory(score=2, submitted_at=an_hour_ago(), is_suspect=True)

    assert check_invariants() == []


def test_an_alert_whose_assignee_was_never_notified_is_named():
    alert = AlertFactory(response__submitted_at=an_hour_ago())

    assert check_invariants() == [
        f"alert {alert.pk}'s assignee was never notified (no {notification_key(alert)} in the outbox)"
    ]


def test_an_alert_whose_notification_failed_is_named():
    alert = AlertFactory(response__submitted_at=an_hour_ago())
    notified(alert)
    OutgoingMessage.objects.filter(key=notification_key(alert)).update(status=OutgoingMessage.Status.FAILED)

    assert check_invariants() == [f"alert {alert.pk}'s notification {notification_key(alert)} is failed, not sent"]


def test_a_reassigned_alert_not_yet_notified_to_its_new_assignee_is_named():
    alert = AlertFactory(response__submitted_at=an_hour_ago(), assignee=UserFactory())
    notified(alert)
    alert.assignee = UserFactory()
    alert.save()

    assert check_invariants() == [
        f"alert {alert.pk}'s assignee was never notified (no {notification_key(alert)} in the outbox)"
    ]


def test_a_due_message_waiting_more_than_two_sweep_periods_is_named():
    now = timezone.now()
    OutgoingMessage.objects.create(
        key="survey-invitation:7", kind="survey-invitation", object_id=7, next_attempt_at=now - timedelta(minutes=3)
    )
    OutgoingMessage.objects.create(
        key="survey-invitation:8", kind="survey-invitation", object_id=8, next_attempt_at=now - timedelta(seconds=90)
    )

    [violation] = check_invariants(now=now)
    assert violation.startswith("outbox message survey-invitation:7 has been due since")
    # Healthy again only a minute ago: the sweeps have not had their two periods yet.
    assert check_invariants(now=now, healthy_since=now - timedelta(minutes=1)) == []

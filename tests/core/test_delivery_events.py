"""Delivery events in the outbox: stored once, matched to their message, applied to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from core import delivery_events, outbox
from core.models import DeliveryEvent, OutgoingMessage
from tests.factories import SentMessageFactory

pytestmark = pytest.mark.django_db

Status = OutgoingMessage.Status


def record(**fields):
    fields.setdefault("esp", "Postmark")
    fields.setdefault("event_type", "delivered")
    fields.setdefault("recipient", "jane@example.com")
    return delivery_events.record(**fields)


class TestStoredOnce:
    def test_an_event_with_an_id_is_stored_once(self):
        assert record(event_id="901542550") is not None
        assert record(event_id="901542550", description="sent again, worded otherwise") is None
        assert DeliveryEvent.objects.count() == 1

    def test_the_same_id_from_another_provider_is_another_event(self):
        record(event_id="42")
        record(event_id="42", esp="Mailgun")
        assert DeliveryEvent.objects.count() == 2

    def test_one_notification_about_several_recipients_is_one_event_each(self):
        record(event_id="19ba9823", esp="Amazon SES", recipient="jane@example.com")
        record(event_id="19ba9823", esp="Amazon SES", recipient="richard@example.com")
        assert DeliveryEvent.objects.count() == 2

    def test_an_event_without_an_id_is_known_again_by_its_fields(self):
        at = timezone.now() - timedelta(minutes=3)
        assert record(message_id="m-1", occurred_at=at) is not None
        assert record(message_id="m-1", occurred_at=at) is None
        assert record(message_id="m-1", occurred_at=at + timedelta(seconds=1)) is not None
        assert DeliveryEvent.objects.count() == 2

    def test_an_undated_event_is_dated_when_it_arrives_and_still_known_again(self):
        first = record(message_id="m-1")
        assert timezone.now() - first.occurred_at < timedelta(seconds=5)
        assert record(message_id="m-1") is None

    def test_the_recipient_is_kept_in_lower_case(self):
        assert record(recipient=" Jane@Example.COM ").recipient == "jane@example.com"


class TestMatchingTheMessage:
    def test_by_the_providers_message_id(self):
        message = SentMessageFactory(provider_message_id="2706ee8a-737c-4285-b032-ccd317af53ed")
        assert record(message_id="2706ee8a-737c-4285-b032-ccd317af53ed").message == message

    @pytest.mark.parametrize(("stored", "reported"), [("<20180812@example.org>", "20180812@example.org"),
                                                      ("20180812@example.org", "<20180812@example.org>")])
    def test_with_or_without_angle_brackets(self, stored, reported):
        message = SentMessageFactory(provider_message_id=stored)
        assert record(message_id=reported).message == message

    def test_else_the_latest_message_sent_to_the_address_by_the_events_time(self):
        now = timezone.now()
        SentMessageFactory(recipient="jane@example.com", sent_at=now - timedelta(days=3))
        meant = SentMessageFactory(recipient="Jane@Example.com", sent_at=now - timedelta(hours=2))
        SentMessageFactory(recipient="jane@example.com", sent_at=now - timedelta(minutes=1))  # after the event
        assert record(message_id="relay-id", occurred_at=now - timedelta(hours=1)).message == meant

    def test_a_provider_clock_a_little_behind_ours_still_finds_the_message(self):
        sent = SentMessageFactory(recipient="jane@example.com", sent_at=timezone.now())
        assert record(message_id="relay-id", occurred_at=sent.sent_at - timedelta(seconds=30)).message == sent

    def test_an_event_about_no_known_message_is_kept_all_the_same(self):
        assert record(message_id="unknown", recipient="nobody@example.com").message is None


class TestAppliedToTheMessage:
    def test_delivered_records_the_first_delivery_time(self):
        message = SentMessageFactory()
        first = timezone.now() - timedelta(minutes=30)
        record(event_type="delivered", message_id=message.provider_message_id, occurred_at=first)
        record(event_type="delivered", message_id=message.provider_message_id, occurred_at=first + timedelta(minutes=1))
        message.refresh_from_db()
        assert message.delivered_at == first

    def test_opened_records_the_first_opening(self):
        message = SentMessageFactory()
        at = timezone.now() - timedelta(minutes=10)
        record(event_type="opened", message_id=message.provider_message_id, occurred_at=at)
        message.refresh_from_db()
        assert (message.opened_at, message.status) == (at, Status.SENT)

    def test_a_hard_bounce_marks_the_message_bounced_with_the_servers_answer(self):
        message = SentMessageFactory()
        record(event_type="bounced", bounce="hard", message_id=message.provider_message_id,
               mta_response="smtp;550 5.1.1 no such user")
        message.refresh_from_db()
        assert message.status == Status.BOUNCED
        assert message.last_error == "Postmark reported a hard bounce: smtp;550 5.1.1 no such user"

    def test_a_soft_bounce_leaves_the_message_sent(self):
        message = SentMessageFactory()
        record(event_type="deferred", bounce="soft", message_id=message.provider_message_id)
        message.refresh_from_db()
        assert message.status == Status.SENT


class TestRecordBounce:
    @pytest.fixture
    def given_up(self):
        heard = []
        outbox.register("test-bounce", outbox.MessageKind(
            build=lambda message: EmailMessage(to=["x@example.com"]),
            given_up=lambda message: heard.append((message.pk, message.status)),
        ))
        yield heard
        outbox._KINDS.pop("test-bounce")

    def test_the_kind_hears_its_message_was_given_up(self, given_up):
        message = SentMessageFactory(kind="test-bounce")
        assert outbox.record_bounce(message, reason="550") is True
        assert given_up == [(message.pk, Status.BOUNCED)]

    def test_a_message_queued_again_is_left_alone(self, given_up):
        message = SentMessageFactory(kind="test-bounce", status=Status.QUEUED)
        assert outbox.record_bounce(message, reason="550") is False
        message.refresh_from_db()
        assert (message.status, given_up) == (Status.QUEUED, [])

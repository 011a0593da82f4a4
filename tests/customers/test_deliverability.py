"""What delivery events mean for contacts, and the contact's reachability, service by service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from customers import deliverability
from customers.models import Contact
from tests.factories import ContactFactory, StaffFactory

pytestmark = pytest.mark.django_db

ADDRESS = "jane@example.com"


def event(event_type: str, *, bounce: str = "", at=None, message_id: str = "", **fields):
    return deliverability.record_delivery_event(
        esp="Postmark", event_type=event_type, bounce=bounce, recipient=ADDRESS, message_id=message_id,
        occurred_at=at or timezone.now(), **fields,
    )


def soft_bounce(days_ago: float, message_id: str):
    return event("deferred", bounce="soft", at=timezone.now() - timedelta(days=days_ago), message_id=message_id)


def fresh(contact: Contact) -> Contact:
    return Contact.objects.get(pk=contact.pk)


class TestBounceKind:
    @pytest.mark.parametrize(
        ("event_type", "reject_reason", "temporary", "kind"),
        [
            ("bounced", "bounced", False, "hard"),
            ("bounced", "", False, "hard"),
            ("rejected", "invalid", False, "hard"),  # Postmark's BadEmailAddress
            ("rejected", "bounced", False, "hard"),  # the provider's own list of bounced addresses
            ("bounced", "bounced", True, "soft"),  # Postmark's SoftBounce, a transient SES bounce
            ("bounced", "timed_out", False, "soft"),  # given up after retrying
            ("deferred", "", False, "soft"),
            ("deferred", "other", False, "soft"),  # Mailgun's temporary failures
            ("rejected", "blocked", False, ""),  # the provider's policy, not the address
            ("bounced", "other", False, ""),  # Postmark's VirusNotification
            ("complained", "spam", False, ""),
            ("delivered", "", False, ""),
        ],
    )
    def test_it_tells_a_bad_address_from_a_failure_for_now(self, event_type, reject_reason, temporary, kind):
        found = deliverability.bounce_kind(event_type=event_type, reject_reason=reject_reason, temporary=temporary)
        assert found == kind


class TestSoftBounces:
    def test_one_message_deferred_three_times_is_one_soft_bounce(self):
        contact = ContactFactory(email=ADDRESS)
        for hours in (3, 2, 1):
            soft_bounce(hours / 24, message_id="the-same-message")
        assert fresh(contact).unreachable_reason == ""

    def test_three_messages_make_it_undeliverable(self):
        contact = ContactFactory(email=ADDRESS)
        for number in range(3):
            soft_bounce(3 - number, message_id=f"message-{number}")
        assert (fresh(contact).unreachable_reason, fresh(contact).undeliverable_reason) == ("bounced", "soft_bounces")

    def test_soft_bounces_before_staff_re_enabled_the_address_no_longer_count(self):
        contact = ContactFactory(email=ADDRESS)
        for number in range(3):
            soft_bounce(10 - number, message_id=f"before-{number}")
        assert deliverability.reenable_address(email=ADDRESS, by=StaffFactory()) == 1
        later = timezone.now() + timedelta(minutes=1)
        event("deferred", bounce="soft", at=later, message_id="after-0")
        event("deferred", bounce="soft", at=later + timedelta(hours=1), message_id="after-1")
        assert fresh(contact).unreachable_reason == ""
        event("deferred", bounce="soft", at=later + timedelta(hours=2), message_id="after-2")
        assert fresh(contact).unreachable_reason == "bounced"


class TestOtherEvents:
    def test_an_unsubscribe_through_the_providers_link_opts_the_contact_out(self):
        contact = ContactFactory(email=ADDRESS)
        event("unsubscribed")
        assert (fresh(contact).unreachable_reason, fresh(contact).opt_out_reason) == ("opted_out", "unsubscribed")

    def test_an_event_for_an_address_nobody_has_is_kept_and_changes_nothing_else(self):
        other = ContactFactory(email="other@example.com")
        assert event("bounced", bounce="hard") is not None
        assert fresh(other).unreachable_reason == ""

    def test_a_hard_bounce_keeps_the_first_reason_and_date(self):
        contact = ContactFactory(email=ADDRESS)
        first = timezone.now() - timedelta(days=2)
        event("bounced", bounce="hard", at=first, event_id="1")
        event("bounced", bounce="hard", event_id="2")
        assert (fresh(contact).undeliverable_at, fresh(contact).undeliverable_reason) == (first, "bounced")


class TestReenableAddress:
    def test_it_clears_every_contact_with_the_address_and_records_who(self):
        staff = StaffFactory(username="cx.lead")
        contacts = [ContactFactory(email="Jane@Example.com"), ContactFactory(email=ADDRESS)]
        event("bounced", bounce="hard")
        assert deliverability.reenable_address(email="JANE@example.com", by=staff) == 2
        for contact in contacts:
            contact = fresh(contact)
            assert (contact.unreachable_reason, contact.undeliverable_reason) == ("", "")
            assert contact.undeliverable_at is None
            assert contact.reenabled_at is not None
        entries = LogEntry.objects.filter(user=staff)
        assert sorted(int(entry.object_id) for entry in entries) == sorted(contact.pk for contact in contacts)
        assert "Re-enabled the address on the deliverability page (was: Hard bounce)." in entries[0].change_message

    def test_a_complaint_stays(self):
        contact = ContactFactory(email=ADDRESS)
        event("complained")
        assert deliverability.reenable_address(email=ADDRESS, by=StaffFactory()) == 0
        assert fresh(contact).unreachable_reason == "complained"

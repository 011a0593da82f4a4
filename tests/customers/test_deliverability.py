"""What delivery events mean for contacts, and the contact's reachability, service by service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from django.db import transaction

from customers import deliverability, services
from customers.models import Contact
from customers.queries import LOST_TO_DELIVERY, REACHABLE, unreachable_since
from customers.signals import contact_unreachable
from tests.factories import ContactFactory, CustomerFactory, StaffFactory

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
        entries = LogEntry.objects.filter(actor=staff)
        assert sorted(entry.object_id for entry in entries) == sorted(contact.pk for contact in contacts)
        assert entries[0].changes_dict["undeliverable_reason"] == ["bounced", ""]

    def test_a_complaint_stays(self):
        contact = ContactFactory(email=ADDRESS)
        event("complained")
        assert deliverability.reenable_address(email=ADDRESS, by=StaffFactory()) == 0
        assert fresh(contact).unreachable_reason == "complained"


@pytest.fixture
def announced():
    """(contact id, customer id) of every contact_unreachable sent, in order."""
    heard = []

    def listen(sender, contact_id, customer_id, **kwargs):
        heard.append((contact_id, customer_id))

    contact_unreachable.connect(listen, dispatch_uid="tests-announced")
    yield heard
    contact_unreachable.disconnect(dispatch_uid="tests-announced")


class TestUnreachableAnnounced:
    def test_a_hard_bounce_announces_every_contact_with_the_address_once_committed(
        self, announced, django_capture_on_commit_callbacks
    ):
        contacts = [ContactFactory(email="Jane@Example.com"), ContactFactory(email=ADDRESS)]
        with django_capture_on_commit_callbacks(execute=True):
            event("bounced", bounce="hard")
            assert announced == []
        assert sorted(announced) == sorted((contact.pk, contact.customer_id) for contact in contacts)

    def test_a_complaint_announces_the_contact(self, announced, django_capture_on_commit_callbacks):
        contact = ContactFactory(email=ADDRESS)
        with django_capture_on_commit_callbacks(execute=True):
            event("complained")
        assert announced == [(contact.pk, contact.customer_id)]

    def test_soft_bounces_announce_the_contact_only_when_they_reach_the_limit(
        self, announced, django_capture_on_commit_callbacks
    ):
        contact = ContactFactory(email=ADDRESS)
        with django_capture_on_commit_callbacks(execute=True):
            soft_bounce(3, message_id="message-0")
            soft_bounce(2, message_id="message-1")
            assert announced == []
            soft_bounce(1, message_id="message-2")
        assert announced == [(contact.pk, contact.customer_id)]

    def test_an_opt_out_announces_the_contact(self, announced, django_capture_on_commit_callbacks):
        contact = ContactFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.opt_out_contact(contact=contact)
        assert announced == [(contact.pk, contact.customer_id)]

    def test_nothing_is_announced_again_or_for_a_delivery(self, announced, django_capture_on_commit_callbacks):
        ContactFactory(email=ADDRESS)
        with django_capture_on_commit_callbacks(execute=True):
            event("bounced", bounce="hard", event_id="1")
            event("bounced", bounce="hard", event_id="2")
            event("delivered", event_id="3")
        assert len(announced) == 1

    def test_nothing_is_announced_when_the_transaction_rolls_back(self, announced, django_capture_on_commit_callbacks):
        ContactFactory(email=ADDRESS)
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                event("bounced", bounce="hard")
                raise RuntimeError("rolled back")
        assert announced == []


class TestReachabilityFilters:
    """The filters over many contacts say what Contact.unreachable_reason says of one."""

    def test_they_agree_with_the_contacts_own_reason(self):
        now = timezone.now()
        customer = CustomerFactory()
        contacts = [
            ContactFactory(customer=customer),
            ContactFactory(customer=customer, undeliverable_at=now, undeliverable_reason="bounced"),
            ContactFactory(customer=customer, undeliverable_at=now, undeliverable_reason="soft_bounces"),
            ContactFactory(customer=customer, opted_out=True, opted_out_at=now, opt_out_reason="complained"),
            ContactFactory(customer=customer, opted_out=True, opted_out_at=now, opt_out_reason="unsubscribed"),
            ContactFactory(
                customer=customer, opted_out=True, opted_out_at=now - timedelta(days=1), opt_out_reason="staff",
                undeliverable_at=now, undeliverable_reason="bounced",
            ),
        ]
        reachable = set(Contact.objects.filter(REACHABLE).values_list("pk", flat=True))
        lost = set(Contact.objects.filter(LOST_TO_DELIVERY).values_list("pk", flat=True))
        since = dict(Contact.objects.annotate(since=unreachable_since()).values_list("pk", "since"))
        for contact in contacts:
            reason = contact.unreachable_reason
            assert (contact.pk in reachable) is (reason == "")
            assert (contact.pk in lost) is (reason in ("bounced", "complained"))
            assert since[contact.pk] == contact.unreachable_since

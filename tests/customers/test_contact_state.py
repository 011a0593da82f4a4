"""Why a contact cannot be reached, and the services that opt them out and in."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers import services
from tests.factories import ContactFactory, StaffFactory

pytestmark = pytest.mark.django_db


class TestOptOutAndIn:
    def test_opting_out_keeps_the_reason(self):
        contact = ContactFactory()
        services.opt_out_contact(contact=contact, reason="staff")
        assert (contact.opted_out, contact.opt_out_reason, contact.unreachable_reason) == (True, "staff", "opted_out")

    def test_an_unsubscribe_is_the_default_reason(self):
        contact = ContactFactory()
        services.opt_out_contact(contact=contact)
        assert contact.opt_out_reason == "unsubscribed"

    def test_a_second_opt_out_keeps_the_first_date_and_reason(self):
        contact = ContactFactory()
        services.opt_out_contact(contact=contact)
        first = contact.opted_out_at
        services.opt_out_contact(contact=contact, reason="staff")
        assert (contact.opted_out_at, contact.opt_out_reason) == (first, "unsubscribed")

    def test_opting_in_clears_the_opt_out(self):
        contact = ContactFactory()
        services.opt_out_contact(contact=contact, reason="complained")
        services.opt_in_contact(contact=contact, by=StaffFactory())
        assert (contact.opted_out, contact.opted_out_at, contact.opt_out_reason) == (False, None, "")
        assert contact.unreachable_reason == ""


class TestUnreachableReason:
    def test_a_contact_is_reachable_by_default(self):
        assert ContactFactory().unreachable_reason == ""

    def test_their_own_choice_is_named_before_a_bounce(self):
        now = timezone.now()
        contact = ContactFactory(undeliverable_at=now, undeliverable_reason="bounced")
        assert contact.unreachable_reason == "bounced"
        contact.opted_out, contact.opted_out_at, contact.opt_out_reason = True, now, "complained"
        assert contact.unreachable_reason == "complained"
        contact.opt_out_reason = "staff"
        assert contact.unreachable_reason == "opted_out"

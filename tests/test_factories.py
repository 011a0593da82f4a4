"""The benchmarks' bulk data: rows copied in SQL behave as the ones the API records."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from surveys import services
from surveys.models import Invitation, InvitationStatus, Response
from tests.factories import CustomerFactory, many_due_invitations, many_sent_invitations, sent_invitation
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db


class TestManyDueInvitations:
    def test_each_copy_is_its_customers_first_with_its_own_address_name_and_reference(self):
        require_postgresql()
        customers = CustomerFactory.create_batch(2)

        many_due_invitations(7, customers=customers, address="contact{}@example.com", reference="ORDER-{}")

        invitations = {
            invitation.delivery.reference: invitation
            for invitation in Invitation.objects.select_related("delivery", "contact")
        }
        assert sorted(invitations) == sorted(f"ORDER-{number}" for number in range(7))
        for number in range(7):
            invitation, first = invitations[f"ORDER-{number}"], invitations[f"ORDER-{number % 2}"]
            assert invitation.delivery.customer_id == customers[number % 2].pk
            assert invitation.contact.customer_id == customers[number % 2].pk
            assert (invitation.contact.email, invitation.contact.name) == (f"contact{number}@example.com",
                                                                          f"Contact {number}")
            assert invitation.status == InvitationStatus.SCHEDULED
            assert (invitation.scheduled_for, invitation.next_attempt_at, invitation.expires_at) == (
                first.scheduled_for, first.next_attempt_at, first.expires_at
            )
            assert (invitation.delivery.survey_id, invitation.delivery.delivered_at) == (
                first.delivery.survey_id, first.delivery.delivered_at
            )

    def test_the_copies_are_sent_like_recorded_invitations(self):
        require_postgresql()

        many_due_invitations(5, customers=CustomerFactory.create_batch(2), address="contact{}@example.com",
                             reference="ORDER-{}")

        assert services.send_due_invitations() == 5
        assert sorted(message.to[0] for message in mail.outbox) == [
            f"Contact {number} <contact{number}@example.com>" for number in range(5)
        ]


class TestManySentInvitations:
    def test_each_token_opens_its_own_invitation_sent_like_sent_invitations(self):
        one = sent_invitation(token="the-single-token-of-enough-length")

        many = many_sent_invitations(["bulk-token-one-of-enough-length", "bulk-token-two-of-enough-length"])

        assert len({invitation.delivery.customer_id for invitation in many} | {one.delivery.customer_id}) == 3
        for invitation in Invitation.objects.filter(pk__in=[invitation.pk for invitation in many]):
            assert invitation.status == InvitationStatus.SENT
            assert invitation.contact.customer_id == invitation.delivery.customer_id
            assert (invitation.delivery.survey_id, invitation.delivery.description) == (
                one.delivery.survey_id, one.delivery.description
            )
            assert invitation.remind_at - invitation.sent_at == one.remind_at - one.sent_at
            assert invitation.expires_at - invitation.scheduled_for == one.expires_at - one.scheduled_for

    def test_an_answer_through_each_token_is_stored(self):
        tokens = ["bulk-token-one-of-enough-length", "bulk-token-two-of-enough-length"]
        many_sent_invitations(tokens)
        client = Client()

        for token in tokens:
            assert client.get(f"/s/{token}/").status_code == 200
            assert client.post(f"/s/{token}/", {"score": "7"}).status_code == 303

        assert Response.objects.count() == 2

"""Too many spam complaints pause survey emails until staff resume them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core import deliverability as sending
from core import outbox
from core.models import OutgoingMessage, SendingPause
from customers import deliverability
from surveys import services as survey_services
from tests.factories import InvitationFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def sent_messages(count: int) -> list[OutgoingMessage]:
    now = timezone.now()
    OutgoingMessage.objects.bulk_create(
        [
            OutgoingMessage(
                key=f"past:{number}",
                kind="survey-invitation",
                object_id=number,
                recipient=f"person{number}@example.com",
                status=OutgoingMessage.Status.SENT,
                sent_at=now - timedelta(seconds=count - number),
                provider_message_id=f"pm-{number}",
            )
            for number in range(count)
        ]
    )
    return list(OutgoingMessage.objects.order_by("-sent_at")[:count])


def complaint(message: OutgoingMessage):
    return deliverability.record_delivery_event(
        esp="Postmark",
        event_type="complained",
        recipient=message.recipient,
        message_id=message.provider_message_id,
        event_id=f"complaint-{message.pk}",
        occurred_at=timezone.now(),
    )


class TestComplaintRate:
    def test_three_complaints_in_a_thousand_is_under_the_limit(self):
        messages = sent_messages(1000)
        for message in messages[:3]:
            complaint(message)
        assert sending.complaints_among_last_sent() == (3, 1000)
        assert sending.pause_in_force() is None

    def test_the_fourth_complaint_in_a_thousand_pauses_survey_emails(self):
        messages = sent_messages(1000)
        for message in messages[:4]:
            complaint(message)
        pause = sending.pause_in_force()
        assert pause is not None
        assert pause.reason.startswith("4 spam complaints among the last 1,000 emails sent")

    def test_a_small_sender_is_judged_as_if_it_had_sent_a_thousand(self):
        messages = sent_messages(20)
        for message in messages[:3]:
            complaint(message)
        assert sending.pause_in_force() is None
        complaint(messages[3])
        assert sending.pause_in_force() is not None

    def test_only_the_last_thousand_emails_count(self):
        old = sent_messages(1004)[-4:]  # the four oldest
        for message in old:
            complaint(message)
        assert sending.complaints_among_last_sent() == (0, 1000)
        assert sending.pause_in_force() is None

    def test_the_same_complaint_twice_counts_once(self):
        messages = sent_messages(10)
        for message in messages[:3]:
            complaint(message)
        complaint(messages[0])
        assert sending.pause_in_force() is None


class TestWhilePaused:
    @pytest.fixture
    def paused(self):
        return SendingPause.objects.create(reason="4 spam complaints among the last 20 emails sent.")

    def test_survey_emails_wait_scheduled_and_go_once_staff_resume(self, paused):
        invitation = InvitationFactory()

        assert survey_services.send_due_invitations() == 0
        invitation.refresh_from_db()
        assert invitation.status == "scheduled" and mail.outbox == []

        assert sending.resume(by=StaffFactory())
        assert survey_services.send_due_invitations() == 1

    def test_staff_are_emailed_once_when_it_pauses(self):
        StaffFactory(email="lead@example.com")
        UserFactory(email="manager@example.com")  # not staff
        messages = sent_messages(20)
        for message in messages[:5]:
            complaint(message)

        outbox.send_due()

        (email,) = [message for message in mail.outbox if "paused" in message.subject]
        assert email.to == ["lead@example.com"]
        assert "4 spam complaints" in email.body
        assert "/deliverability/" in email.body
        assert SendingPause.objects.count() == 1

    def test_the_page_says_so_and_staff_resume_there(self, client, paused):
        staff = StaffFactory()
        client.force_login(staff)
        page = client.get(reverse("customers:deliverability")).content.decode()
        assert "Survey emails are paused" in page and paused.reason in page

        answer = client.post(reverse("customers:resume-sending"))

        assert answer.status_code == 303
        paused.refresh_from_db()
        assert paused.resumed_by == staff and paused.resumed_at is not None
        assert "Survey emails are paused" not in client.get(reverse("customers:deliverability")).content.decode()

    def test_an_account_manager_cannot_resume(self, client, paused):
        client.force_login(UserFactory())
        assert client.post(reverse("customers:resume-sending")).status_code == 403
        assert sending.pause_in_force() == paused

"""The sweeps that send invitations and reminders and close expired links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import outbox
from core.models import OutgoingMessage
from customers.models import Contact, Customer
from surveys import services
from surveys.models import Invitation, InvitationStatus, hash_token
from tests.factories import ContactFactory, DeliveryFactory, InvitationFactory, due_invitations, sent_invitation
from tests.support.concurrency import run_at_once
from tests.support.services import require_postgresql
from tests.support.smtp import TRANSIENT_RECIPIENT

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver/s/([A-Za-z0-9_-]+)/\?score=(\d+)")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


def token_in(message) -> str:
    tokens = {token for token, _ in LINK.findall(message.body)}
    assert len(tokens) == 1
    return tokens.pop()


def message_for(invitation: Invitation) -> OutgoingMessage:
    return OutgoingMessage.objects.get(kind=services.INVITATION_MESSAGE, object_id=invitation.pk)


def invitation_to(email: str, **fields) -> Invitation:
    delivery = DeliveryFactory(contact=ContactFactory(email=email))
    return InvitationFactory(delivery=delivery, **fields)


class TestSendDueInvitations:
    def test_a_due_invitation_is_sent_and_only_the_token_hash_is_kept(self):
        invitation = InvitationFactory()

        assert services.send_due_invitations() == 1

        invitation.refresh_from_db()
        (message,) = mail.outbox
        token = token_in(message)
        assert invitation.status == InvitationStatus.SENT
        assert invitation.sent_at is not None
        assert invitation.token_hash == hash_token(token) != token
        assert len(token) >= 22  # at least 128 bits in URL-safe base64
        assert invitation.remind_at == invitation.sent_at + timedelta(days=3)

    def test_no_reminder_is_planned_when_the_link_closes_before_it(self):
        invitation = InvitationFactory(expires_at=timezone.now() + timedelta(days=2))

        assert services.send_due_invitations() == 1

        invitation.refresh_from_db()
        assert invitation.sent_at is not None and invitation.remind_at is None

    def test_running_the_sweep_again_sends_nothing_more(self):
        InvitationFactory()
        services.send_due_invitations()
        assert services.send_due_invitations() == 0
        assert len(mail.outbox) == 1

    def test_an_invitation_not_yet_due_waits(self):
        InvitationFactory(scheduled_for=timezone.now() + timedelta(minutes=5))
        assert services.send_due_invitations() == 0
        assert mail.outbox == []

    @pytest.mark.parametrize("status", ["suppressed", "responded", "expired", "failed"])
    def test_only_scheduled_invitations_are_sent(self, status):
        InvitationFactory(status=status, suppressed_reason="throttled" if status == "suppressed" else "")
        assert services.send_due_invitations() == 0

    def test_an_invitation_past_its_expiry_is_never_sent(self):
        now = timezone.now()
        InvitationFactory(scheduled_for=now - timedelta(days=15), expires_at=now - timedelta(days=1))
        assert services.send_due_invitations() == 0

    def test_many_invitations_go_out_in_batches(self):
        InvitationFactory.create_batch(7)
        assert services.send_due_invitations(batch_size=3) == 7
        assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 7
        assert len({message.to[0] for message in mail.outbox}) == 7

    def test_a_batch_of_emails_is_built_from_one_read_of_its_invitations(self):
        InvitationFactory.create_batch(6)
        services.queue_due_invitations(now=timezone.now())

        with CaptureQueriesContext(connection) as captured:
            assert outbox.send_due() == 6

        reads = [query["sql"] for query in captured if "customers_contact" in query["sql"]]
        assert len(reads) == 1
        assert len(mail.outbox) == 6

    def test_an_invitation_deleted_after_it_was_queued_fails_alone(self):
        gone, kept = InvitationFactory.create_batch(2)
        services.queue_due_invitations(now=timezone.now())
        Invitation.objects.filter(pk=gone.pk).delete()

        assert outbox.send_due() == 1

        (message,) = mail.outbox
        assert kept.contact.email in message.to[0]
        assert message_for(gone).status == OutgoingMessage.Status.FAILED
        assert "does not exist" in message_for(gone).last_error

    def test_the_token_never_reaches_the_logs(self, caplog):
        caplog.set_level("DEBUG")
        InvitationFactory()
        services.send_due_invitations()
        assert token_in(mail.outbox[0]) not in caplog.text


class TestSmtpOutcomes:
    """Against a real SMTP server that refuses some recipients."""

    def test_a_batch_shares_one_smtp_connection(self, smtp_server):
        InvitationFactory.create_batch(5)
        assert services.send_due_invitations() == 5
        assert len(smtp_server.received()) == 5
        assert smtp_server.connections == 1

    def test_a_permanent_refusal_is_recorded_and_the_rest_still_go_out(self, smtp_server):
        refused = invitation_to("nobody@refuse.test")
        InvitationFactory.create_batch(2)

        assert services.send_due_invitations() == 2

        refused.refresh_from_db()
        assert refused.status == InvitationStatus.FAILED
        assert "550" in refused.last_error
        assert refused.next_attempt_at is None
        assert len(smtp_server.received()) == 2

    def test_a_transient_refusal_is_retried_later_with_backoff(self, smtp_server):
        deferred = invitation_to(TRANSIENT_RECIPIENT)
        before = timezone.now()

        assert services.send_due_invitations() == 0

        message = message_for(deferred)
        assert (message.status, message.attempts) == (OutgoingMessage.Status.QUEUED, 1)
        assert "451" in message.last_error
        assert before + timedelta(minutes=1) <= message.next_attempt_at <= timezone.now() + timedelta(minutes=1)
        assert services.send_due_invitations(now=timezone.now() + timedelta(minutes=2)) == 0
        assert message_for(deferred).attempts == 2

    def test_a_transient_refusal_gives_up_after_five_attempts(self, smtp_server):
        deferred = invitation_to(TRANSIENT_RECIPIENT)
        for attempt in range(5):
            services.send_due_invitations(now=timezone.now() + timedelta(hours=attempt + 1))
        deferred.refresh_from_db()
        assert deferred.status == InvitationStatus.FAILED and deferred.sent_at is None
        assert "451" in deferred.last_error
        assert message_for(deferred).attempts == 5

    def test_an_unreachable_mail_server_leaves_invitations_waiting(self, settings, caplog):
        from tests.support.smtp import free_port

        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
        invitation = InvitationFactory()

        assert services.send_due_invitations() == 0

        message = message_for(invitation)
        assert (message.status, message.attempts) == (OutgoingMessage.Status.QUEUED, 0)
        assert "Cannot reach the mail service" in caplog.text

    def test_one_email_that_cannot_be_written_fails_alone_and_the_rest_go_once(self, smtp_server):
        # The admin can store a name with a line break; as a header it is refused.
        broken = invitation_to("ana@example.com")
        Contact.objects.filter(pk=broken.contact_id).update(name="Ana\nBcc: everyone@example.com")
        InvitationFactory.create_batch(3)

        assert services.send_due_invitations() == 3
        assert services.send_due_invitations(now=timezone.now() + timedelta(days=1)) == 0

        assert len(smtp_server.received()) == 3
        broken.refresh_from_db()
        assert broken.status == InvitationStatus.FAILED
        assert "newline" in broken.last_error.lower()


class TestCheckedAtSendTime:
    def test_a_contact_who_opted_out_after_scheduling_is_not_surveyed(self):
        invitation = InvitationFactory()
        Contact.objects.filter(pk=invitation.contact_id).update(opted_out=True)  # as an old admin edit did

        assert services.send_due_invitations() == 0

        invitation.refresh_from_db()
        assert (invitation.status, invitation.suppressed_reason) == (InvitationStatus.SUPPRESSED, "opted_out")
        assert invitation.sent_at is None
        assert mail.outbox == []

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"undeliverable_at": timezone.now(), "undeliverable_reason": "bounced"}, "bounced"),
            ({"opted_out": True, "opt_out_reason": "complained"}, "complained"),
        ],
    )
    def test_an_address_that_bounced_or_complained_after_scheduling_is_not_surveyed(self, change, reason):
        invitation = InvitationFactory()
        Contact.objects.filter(pk=invitation.contact_id).update(**change)

        assert services.send_due_invitations() == 0

        invitation.refresh_from_db()
        assert (invitation.status, invitation.suppressed_reason) == (InvitationStatus.SUPPRESSED, reason)
        assert mail.outbox == []

    def test_a_customer_made_inactive_after_scheduling_is_not_surveyed(self):
        invitation = InvitationFactory()
        Customer.objects.filter(pk=invitation.delivery.customer_id).update(is_active=False)

        services.send_due_invitations()

        invitation.refresh_from_db()
        assert (invitation.status, invitation.suppressed_reason) == (InvitationStatus.SUPPRESSED, "inactive_customer")

    def test_an_invitation_answered_before_its_email_left_sends_nothing(self):
        invitation = InvitationFactory()
        services.queue_due_invitations(now=timezone.now())
        invitation.refresh_from_db()
        services.record_response(invitation=invitation, score=9)

        assert services.send_due_invitations() == 0
        assert message_for(invitation).status == OutgoingMessage.Status.SUPPRESSED


class TestLinksThatNeverDie:
    def test_every_email_sent_for_an_invitation_carries_the_same_working_link(self):
        invitation = InvitationFactory()
        services.send_due_invitations()
        # A worker that died after sending, before recording it: the outbox sends again.
        died_at = timezone.now() - outbox.sending_timeout() - timedelta(minutes=1)
        OutgoingMessage.objects.filter(object_id=invitation.pk).update(
            status=OutgoingMessage.Status.SENDING, claimed_at=died_at
        )
        outbox.release_stuck()
        services.send_due_invitations()

        first, again = mail.outbox
        assert token_in(first) == token_in(again)
        assert services.invitation_for_token(token_in(again)) == invitation

    def test_the_unsubscribe_link_has_a_token_of_its_own(self):
        invitation = InvitationFactory()
        services.send_due_invitations()

        (message,) = mail.outbox
        unsubscribe = re.search(r"<http://testserver/u/([A-Za-z0-9_-]+)/>", message.extra_headers["List-Unsubscribe"])
        assert unsubscribe.group(1) != token_in(message)
        assert services.invitation_for_unsubscribe_token(unsubscribe.group(1)) == invitation
        assert services.invitation_for_token(unsubscribe.group(1)) is None


class TestTheInvitationHearsItsEmailLeft:
    def test_once_the_batch_is_sent_each_invitation_has_its_time_and_its_reminder(self):
        invitations = [InvitationFactory() for _ in range(3)]
        services.send_due_invitations()

        for invitation in invitations:
            invitation.refresh_from_db()
            message = message_for(invitation)
            assert (message.status, message.claimed_at) == (OutgoingMessage.Status.SENT, None)
            assert invitation.sent_at == message.sent_at
            assert invitation.remind_at == message.sent_at + invitation.survey.reminder_delay

    def test_a_worker_that_died_before_telling_the_invitation_leaves_it_to_the_sweep_and_sends_nothing_again(self):
        invitation = InvitationFactory()
        services.send_due_invitations()
        # Recorded as sent, the invitation not yet told: what a worker killed then leaves.
        died_at = timezone.now() - outbox.sending_timeout() - timedelta(minutes=1)
        OutgoingMessage.objects.filter(object_id=invitation.pk).update(claimed_at=died_at)
        Invitation.objects.filter(pk=invitation.pk).update(remind_at=None)

        outbox.release_stuck()

        invitation.refresh_from_db()
        assert invitation.remind_at == message_for(invitation).sent_at + invitation.survey.reminder_delay
        assert message_for(invitation).claimed_at is None
        assert len(mail.outbox) == 1


class TestReminders:
    def test_one_reminder_goes_out_when_due_with_a_link_of_its_own(self):
        invitation = sent_invitation(token="first-token-abcdefghijklmnop", sent_at=timezone.now() - timedelta(days=3, minutes=1))

        assert services.send_due_reminders() == 1
        assert services.send_due_reminders() == 0

        invitation.refresh_from_db()
        (message,) = mail.outbox
        assert message.subject.startswith("Reminder")
        assert invitation.reminded_at is not None and invitation.remind_at is None
        assert services.invitation_for_token(token_in(message)) == invitation
        assert services.invitation_for_token("first-token-abcdefghijklmnop") == invitation

    def test_no_reminder_before_it_is_due(self):
        sent_invitation(sent_at=timezone.now() - timedelta(days=2))
        assert services.send_due_reminders() == 0

    def test_an_answered_invitation_gets_no_reminder(self):
        invitation = sent_invitation(sent_at=timezone.now() - timedelta(days=4))
        services.record_response(invitation=invitation, score=8)
        assert services.send_due_reminders() == 0


class TestExpiry:
    def test_an_invitation_expires_exactly_at_its_expiry(self):
        now = timezone.now()
        closing = sent_invitation(expires_at=now)
        open_ = sent_invitation(token="another-token-of-enough-length", expires_at=now + timedelta(seconds=1))

        assert services.expire_invitations(now=now) == 1

        closing.refresh_from_db()
        open_.refresh_from_db()
        assert closing.status == InvitationStatus.EXPIRED
        assert open_.status == InvitationStatus.SENT

    def test_an_answered_invitation_never_expires(self):
        invitation = sent_invitation()
        services.record_response(invitation=invitation, score=9)
        assert services.expire_invitations(now=timezone.now() + timedelta(days=30)) == 0

    def test_an_invitation_never_sent_expires_too(self):
        now = timezone.now()
        InvitationFactory(scheduled_for=now - timedelta(days=14), expires_at=now)
        assert services.expire_invitations(now=now) == 1


class TestQueueingInTwoWorkers:
    @pytest.mark.django_db(transaction=True)
    def test_two_workers_queueing_at_once_never_take_the_same_invitation(self, monkeypatch):
        require_postgresql()
        monkeypatch.setattr("core.outbox.enqueue_on_commit", lambda *args, **kwargs: None)
        due_invitations(40)
        now = timezone.now()

        first, second = run_at_once(*[lambda: services.queue_due_invitations(now=now, batch_size=10)] * 2)

        assert first + second == 40
        assert OutgoingMessage.objects.filter(kind=services.INVITATION_MESSAGE).count() == 40
        assert not Invitation.objects.filter(status=InvitationStatus.SCHEDULED).exists()

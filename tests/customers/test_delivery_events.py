"""Delivery events from Postmark, Amazon SES and Mailgun, posted as the providers post
them to anymail's real webhook views (basic auth, Mailgun's signature), through the
tracking signal and the Celery task (run in process) to the contacts and the outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError

from core import queue
from core.models import DeliveryEvent, OutgoingMessage
from customers import deliverability
from customers.models import Contact
from tests.factories import ContactFactory, CustomerFactory, SentMessageFactory
from tests.support.providers import ANYMAIL_SETTINGS, PROVIDERS, Mailgun, basic_auth

pytestmark = pytest.mark.django_db

ADDRESS = "jane@example.com"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = ANYMAIL_SETTINGS


@pytest.fixture(params=PROVIDERS, ids=repr)
def provider(request):
    return request.param


@pytest.fixture
def contacts():
    """The same person as a contact of two customers, the address written differently."""
    return [
        ContactFactory(customer=CustomerFactory(), email="Jane@Example.com"),
        ContactFactory(customer=CustomerFactory(), email=ADDRESS),
    ]


@pytest.fixture
def message():
    return SentMessageFactory(recipient=ADDRESS, provider_message_id="0000014644fe5ef6-9a483358-9170-000000")


def post(client, provider, event: str, *, message=None, at=None, to=ADDRESS):
    payload = getattr(provider, event)(
        to=to,
        message_id=message.provider_message_id if message else "unknown-to-the-outbox",
        at=at or timezone.now() - timedelta(minutes=5),
    )
    response = provider.post(client, payload)
    assert response.status_code == 200, response.content
    return payload


def states(contacts) -> list[tuple[str, str]]:
    return [
        (contact.unreachable_reason, contact.undeliverable_reason or contact.opt_out_reason)
        for contact in Contact.objects.filter(pk__in=[contact.pk for contact in contacts]).order_by("pk")
    ]


def nothing_written(contacts) -> bool:
    return not DeliveryEvent.objects.exists() and states(contacts) == [("", ""), ("", "")]


class TestHardBounce:
    def test_a_hard_bounce_marks_the_address_undeliverable_for_every_customer(self, client, provider, contacts):
        post(client, provider, "hard_bounce")
        assert states(contacts) == [("bounced", "bounced"), ("bounced", "bounced")]

    def test_the_bounced_message_is_marked_bounced(self, client, provider, contacts, message):
        post(client, provider, "hard_bounce", message=message)
        message.refresh_from_db()
        assert message.status == OutgoingMessage.Status.BOUNCED
        assert "hard bounce" in message.last_error

    def test_the_event_is_kept_with_what_the_provider_said(self, client, provider, contacts, message):
        post(client, provider, "hard_bounce", message=message)
        event = DeliveryEvent.objects.get()
        assert (event.esp, event.event_type, event.bounce, event.recipient, event.message) == (
            provider.name, "bounced", "hard", ADDRESS, message
        )
        assert event.event_id
        assert "5.1.1" in event.mta_response  # the receiving server: no such mailbox

    def test_the_contact_records_when_it_bounced(self, client, provider, contacts):
        at = timezone.now() - timedelta(hours=3)
        post(client, provider, "hard_bounce", at=at)
        assert abs(Contact.objects.get(pk=contacts[0].pk).undeliverable_at - at) < timedelta(seconds=1)

    def test_it_is_heard_while_mail_goes_over_smtp(self, client, provider, contacts, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        post(client, provider, "hard_bounce")
        assert states(contacts) == [("bounced", "bounced"), ("bounced", "bounced")]

    def test_other_addresses_are_untouched(self, client, provider, contacts):
        other = ContactFactory(email="someone.else@example.com")
        post(client, provider, "hard_bounce")
        assert states([other]) == [("", "")]


class TestComplaint:
    def test_a_complaint_opts_the_address_out_as_complained(self, client, provider, contacts):
        post(client, provider, "complaint")
        assert states(contacts) == [("complained", "complained"), ("complained", "complained")]
        assert all(contact.opted_out for contact in Contact.objects.filter(pk__in=[c.pk for c in contacts]))

    def test_a_complaint_after_an_unsubscribe_keeps_the_date_and_says_complained(self, client, provider, contacts):
        unsubscribed_at = timezone.now() - timedelta(days=3)
        Contact.objects.filter(pk=contacts[0].pk).update(
            opted_out=True, opted_out_at=unsubscribed_at, opt_out_reason="unsubscribed"
        )
        post(client, provider, "complaint")
        contact = Contact.objects.get(pk=contacts[0].pk)
        assert (contact.unreachable_reason, contact.opted_out_at) == ("complained", unsubscribed_at)


class TestSoftBounces:
    def test_three_soft_bounces_in_30_days_make_the_address_undeliverable(self, client, provider, contacts):
        now = timezone.now()
        for days_ago in (29, 10):
            post(client, provider, "soft_bounce", message=SentMessageFactory(recipient=ADDRESS),
                 at=now - timedelta(days=days_ago))
        assert states(contacts) == [("", ""), ("", "")]
        post(client, provider, "soft_bounce", message=SentMessageFactory(recipient=ADDRESS), at=now)
        assert states(contacts) == [("bounced", "soft_bounces"), ("bounced", "soft_bounces")]

    def test_three_soft_bounces_over_more_than_30_days_do_not(self, client, provider, contacts):
        now = timezone.now()
        for days_ago in (31, 10, 0):
            post(client, provider, "soft_bounce", message=SentMessageFactory(recipient=ADDRESS),
                 at=now - timedelta(days=days_ago))
        assert states(contacts) == [("", ""), ("", "")]
        assert DeliveryEvent.objects.filter(bounce="soft").count() == 3

    def test_a_soft_bounce_leaves_the_message_sent(self, client, provider, contacts, message):
        post(client, provider, "soft_bounce", message=message)
        message.refresh_from_db()
        assert message.status == OutgoingMessage.Status.SENT


class TestDeliveredAndOpened:
    def test_delivery_and_opening_are_recorded_on_the_message(self, client, provider, contacts, message):
        delivered_at = timezone.now() - timedelta(minutes=50)
        opened_at = timezone.now() - timedelta(minutes=20)
        post(client, provider, "delivered", message=message, at=delivered_at)
        post(client, provider, "opened", message=message, at=opened_at)
        message.refresh_from_db()
        assert abs(message.delivered_at - delivered_at) < timedelta(seconds=1)
        assert abs(message.opened_at - opened_at) < timedelta(seconds=1)
        assert states(contacts) == [("", ""), ("", "")]

    def test_the_first_opening_is_kept(self, client, provider, message):
        first = timezone.now() - timedelta(minutes=20)
        post(client, provider, "opened", message=message, at=first)
        post(client, provider, "opened", message=message, at=first + timedelta(minutes=5))
        message.refresh_from_db()
        assert abs(message.opened_at - first) < timedelta(seconds=1)

    def test_without_a_known_message_id_the_latest_message_to_the_address_is_the_one(self, client, provider):
        """An SMTP relay reports an id of its own, never the Message-ID we sent."""
        older = SentMessageFactory(recipient="Jane@Example.com", sent_at=timezone.now() - timedelta(days=2))
        latest = SentMessageFactory(recipient=ADDRESS, sent_at=timezone.now() - timedelta(hours=1))
        SentMessageFactory(recipient="someone.else@example.com", sent_at=timezone.now() - timedelta(minutes=30))
        post(client, provider, "delivered")
        older.refresh_from_db(), latest.refresh_from_db()
        assert (older.delivered_at, latest.delivered_at is not None) == (None, True)


class TestTheSameEventTwice:
    def test_a_repeated_event_is_stored_once_and_changes_nothing_more(self, client, provider, contacts, message):
        payload = provider.hard_bounce(to=ADDRESS, message_id=message.provider_message_id, at=timezone.now())
        for _ in range(2):
            assert provider.post(client, payload).status_code == 200
        assert DeliveryEvent.objects.count() == 1
        assert states(contacts) == [("bounced", "bounced"), ("bounced", "bounced")]

    def test_one_soft_bounce_sent_three_times_counts_once(self, client, provider, contacts, message):
        payload = provider.soft_bounce(to=ADDRESS, message_id=message.provider_message_id, at=timezone.now())
        for _ in range(3):
            assert provider.post(client, payload).status_code == 200
        assert DeliveryEvent.objects.count() == 1
        assert states(contacts) == [("", ""), ("", "")]


class TestRefused:
    def test_a_call_without_basic_auth_is_challenged_and_writes_nothing(self, client, provider, contacts):
        payload = provider.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        response = provider.post(client, payload, auth={})
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic ")
        assert nothing_written(contacts)

    def test_a_call_with_the_wrong_password_is_refused_and_writes_nothing(self, client, provider, contacts):
        payload = provider.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        response = provider.post(client, payload, auth=basic_auth("valuepulse:guessed"))
        assert response.status_code == 401
        assert nothing_written(contacts)

    def test_malformed_json_is_refused_and_writes_nothing(self, client, provider, contacts):
        response = provider.post(client, provider.malformed())
        assert response.status_code == 400
        assert nothing_written(contacts)

    def test_without_a_webhook_secret_every_call_is_refused(self, client, provider, contacts, settings):
        settings.ANYMAIL = {key: value for key, value in ANYMAIL_SETTINGS.items() if key != "WEBHOOK_SECRET"}
        payload = provider.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        assert provider.post(client, payload, auth={}).status_code == 403
        assert nothing_written(contacts)

    def test_a_broker_outage_answers_200_and_the_sweep_applies_the_event_once(self, provider, contacts, monkeypatch):
        def broker_down(*args, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        monkeypatch.setattr(queue, "publish", broker_down)
        payload = provider.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        assert provider.post(Client(raise_request_exception=False), payload).status_code == 200
        assert DeliveryEvent.objects.get().applied_at is None  # stored, waiting for a worker
        assert states(contacts) == [("", ""), ("", "")]

        assert deliverability.apply_unapplied_delivery_events() == 1  # beat's sweep, the broker back
        assert states(contacts) == [("bounced", "bounced"), ("bounced", "bounced")]
        assert deliverability.apply_unapplied_delivery_events() == 0


class TestProviderSpecificChecks:
    def test_a_mailgun_event_signed_with_another_key_is_refused(self, client, contacts):
        forged = Mailgun(signing_key="not-our-signing-key")
        payload = forged.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        assert forged.post(client, payload).status_code == 403
        assert nothing_written(contacts)

    def test_a_mailgun_event_without_its_signature_is_refused(self, client, contacts):
        mailgun = Mailgun()
        payload = mailgun.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        del payload["signature"]
        assert mailgun.post(client, payload).status_code == 403
        assert nothing_written(contacts)

    def test_sns_headers_that_contradict_the_body_are_refused(self, client, contacts):
        ses = PROVIDERS[1]
        payload = ses.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        response = client.post(
            ses.url, data=json.dumps(payload), content_type=ses.content_type, **basic_auth(),
            HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID="another-message",
        )
        assert response.status_code == 403
        assert nothing_written(contacts)

    def test_a_postmark_body_of_the_wrong_shape_is_refused(self, client, contacts):
        postmark = PROVIDERS[0]
        assert postmark.post(client, "[]").status_code == 400
        assert nothing_written(contacts)

    def test_an_amazon_ses_notification_for_several_recipients_is_one_event_each(self, client):
        ses = PROVIDERS[1]
        payload = ses.hard_bounce(to=ADDRESS, message_id="m-1", at=timezone.now())
        ses_event = json.loads(payload["Message"])
        ses_event["bounce"]["bouncedRecipients"].append({"emailAddress": "richard@example.com"})
        payload["Message"] = json.dumps(ses_event)
        assert ses.post(client, payload).status_code == 200
        assert sorted(DeliveryEvent.objects.values_list("recipient", flat=True)) == [ADDRESS, "richard@example.com"]


class TestTheTask:
    def test_the_task_is_handed_the_stored_events_id(self, client, provider, monkeypatch):
        published = []
        monkeypatch.setattr(queue, "publish", lambda task, *args, **kwargs: published.append((task, args)))
        post(client, provider, "hard_bounce")
        event = DeliveryEvent.objects.get()
        assert published == [("customers.tasks.apply_delivery_event", (event.pk,))]
        assert (event.esp, event.event_type, event.bounce, event.recipient, event.applied_at) == (
            provider.name, "bounced", "hard", ADDRESS, None
        )

    def test_an_event_is_applied_once_however_often_its_task_runs(self, client, provider, contacts, monkeypatch):
        monkeypatch.setattr(queue, "publish", lambda task, *args, **kwargs: None)  # the message lost
        post(client, provider, "hard_bounce")
        event = DeliveryEvent.objects.get()

        assert deliverability.apply_delivery_event(event_id=event.pk) is True
        assert deliverability.apply_delivery_event(event_id=event.pk) is False
        assert deliverability.apply_unapplied_delivery_events() == 0
        assert states(contacts) == [("bounced", "bounced"), ("bounced", "bounced")]
        assert Contact.objects.filter(undeliverable_reason="bounced").count() == 2

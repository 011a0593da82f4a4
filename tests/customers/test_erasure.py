"""Erasure on request (GDPR Article 17): staff erase a contact from the customer page, the
admin or the API; their name, address and comments are gone for good, their scores stay
in every figure anonymously, their links stop opening, and nothing shows them again.

The contact here leaves every trace the app can keep: survey emails sent and queued, an
answer with a comment and a revised comment, the alert it raised and its email still to
go, an unreachable alert naming their address, a note repeating it, the provider's
delivery events, an error message and the admin's history."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import models
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core import outbox
from core.models import DeliveryEvent, OutgoingMessage
from customers import deliverability
from customers import services
from customers.models import Contact, Customer, OptOutReason
from customers.signals import contact_erased
from insights.alerts import emails as alert_emails
from insights.alerts import rules, webhooks
from insights.alerts import services as alert_services
from insights.models import Alert, AlertKind, AlertNote
from surveys import services as survey_services
from surveys.models import (
    Invitation,
    InvitationStatus,
    LinkPurpose,
    Response,
    ResponseRevision,
    SuppressedReason,
    Survey,
    link_token,
)
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    SentMessageFactory,
    StaffFactory,
    UserFactory,
)
from tests.support.pages import without_csrf

pytestmark = pytest.mark.django_db

NAME = "Zelda Quuxworth"
EMAIL = "Zelda.Quux@Secret-Mail.test"
ADDRESS = EMAIL.lower()
COMMENT = "The driver broke the vase my aunt Hildegard left me."
FIRST_COMMENT = "Hildegard's vase arrived in pieces."
SECRETS = [NAME, "Zelda", "Quuxworth", ADDRESS, "secret-mail", COMMENT, FIRST_COMMENT, "Hildegard"]


@dataclass
class Footprint:
    manager: object
    customer: Customer
    contact: Contact
    answered: Invitation
    scheduled: Invitation
    queued: Invitation
    alert: Alert
    unreachable_alert: Alert

    @property
    def survey_token(self) -> str:
        return link_token(invitation_id=self.answered.pk, purpose=LinkPurpose.SURVEY)

    @property
    def unsubscribe_token(self) -> str:
        return link_token(invitation_id=self.answered.pk, purpose=LinkPurpose.UNSUBSCRIBE)


def deliver(customer: Customer, reference: str, *, hours_ago: float) -> Invitation:
    recorded = survey_services.record_delivery(
        delivery=survey_services.DeliveryData(
            customer=customer,
            reference=reference,
            delivered_at=timezone.now() - timedelta(hours=hours_ago),
            contact_email=EMAIL,
            contact_name=NAME,
            # No throttle: each delivery here is surveyed.
            survey=Survey.objects.get_or_create(slug="no-throttle", defaults={"name": "No throttle",
                                                                              "throttle": timedelta(0)})[0],
            description="the kitchen installation",
        )
    )
    return recorded.delivery.invitation


def leave_a_footprint(settings) -> Footprint:
    """A tier 1 customer's contact with every kind of trace, the way the app makes them."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    manager = UserFactory(username="ana", email="ana@example.com", first_name="Ana")
    customer = CustomerFactory(
        name="Acme", external_id="CRM-ACME", tier=1, account_manager=manager, revenue_12m=Decimal("900000.00")
    )
    ContactFactory(customer=customer, name="Other Person", email="other@acme.test")
    answered = deliver(customer, "ORDER-1", hours_ago=3)
    contact = answered.contact
    assert survey_services.send_due_invitations() == 1  # the email leaves (locmem)
    answered.refresh_from_db()
    later = answered.sent_at + timedelta(minutes=10)
    survey_services.record_response(invitation=answered, score=2, comment=FIRST_COMMENT, now=later)
    response = survey_services.record_response(
        invitation=answered, score=2, comment=COMMENT, now=later + timedelta(minutes=2)
    )
    # Once the answer has been quiet for its period, its alert; its email waits in the outbox.
    settled = response.submitted_at + timedelta(minutes=settings.ANSWER_QUIET_MINUTES, seconds=1)
    (alert,) = alert_services.evaluate_response(response_id=response.pk, now=settled)
    queued = deliver(customer, "ORDER-2", hours_ago=2)
    survey_services.queue_due_invitations(now=timezone.now())  # handed to the outbox, not sent yet
    scheduled = deliver(customer, "ORDER-3", hours_ago=-48)  # due in two days
    assert (queued.status, scheduled.status) == (InvitationStatus.SCHEDULED, InvitationStatus.SCHEDULED)
    Invitation.objects.filter(pk=queued.pk).update(last_error=f"550 5.1.1 <{EMAIL}>: no such user (attempt 1)")
    deliverability.record_delivery_event(
        esp="Postmark", event_type="deferred", recipient=EMAIL, event_id="evt-1",
        occurred_at=timezone.now(), description=f"Mailbox of {EMAIL} is full",
        mta_response=f"452 4.2.2 <{ADDRESS}> over quota",
    )
    unreachable_alert = AlertFactory(
        customer=customer, kind=AlertKind.UNREACHABLE, response=None, score=None,
        lost_contact_email=ADDRESS, lost_contact_reason="bounced", lost_contact_at=timezone.now(),
    )
    AlertNote.objects.create(alert=alert, author=manager, text=f"Called {NAME} ({ADDRESS}); she is upset.")
    LogEntry.objects.log_actions(
        user_id=manager.pk, queryset=[contact], action_flag=CHANGE, change_message=[{"changed": {"fields": ["Name"]}}]
    )
    LogEntry.objects.log_actions(
        user_id=manager.pk, queryset=[customer], action_flag=CHANGE,
        change_message=[{"changed": {"name": "contact", "object": str(contact), "fields": ["Email"]}}],
    )
    return Footprint(
        manager=manager, customer=customer, contact=contact, answered=answered, scheduled=scheduled,
        queued=queued, alert=alert, unreachable_alert=unreachable_alert,
    )


@pytest.fixture
def footprint(settings) -> Footprint:
    return leave_a_footprint(settings)


@pytest.fixture
def staff():
    return StaffFactory(username="lead", email="lead@example.com", is_superuser=True)


def erase(footprint: Footprint, staff) -> bool:
    return services.erase_contact(contact=footprint.contact, by=staff)


def rows_mentioning(secret: str) -> list[str]:
    """Every row of every table whose text columns hold `secret`, any letter case."""
    found = []
    for model in apps.get_models():
        text_fields = [
            field.name for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.JSONField))
        ]
        for name in text_fields:
            matches = model._default_manager.filter(**{f"{name}__icontains": secret})
            found += [f"{model._meta.label}.{name} #{pk}" for pk in matches.values_list("pk", flat=True)]
    return found


def api_for(user) -> APIClient:
    _, token = AuthToken.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def shown(body: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in body.lower()]


class TestErasing:
    def test_erasing_a_contact_blanks_name_email_and_comments(self, footprint, staff):
        assert erase(footprint, staff) is True

        contact = Contact.objects.get(pk=footprint.contact.pk)
        assert contact.name == ""
        assert contact.email == f"erased-{contact.pk}@erased.invalid"
        assert contact.is_erased and contact.erased_at is not None
        assert (contact.opted_out, contact.opt_out_reason) == (True, OptOutReason.ERASED)
        assert str(contact) == f"Erased contact #{contact.pk}"
        assert list(Response.objects.filter(invitation__contact=contact).values_list("comment", flat=True)) == [""]
        assert set(ResponseRevision.objects.values_list("comment", flat=True)) == {""}

    def test_no_table_holds_the_erased_name_address_or_comments(self, footprint, staff):
        assert rows_mentioning(ADDRESS) != []  # the footprint is real

        erase(footprint, staff)

        assert {secret: rows_mentioning(secret) for secret in SECRETS} == {secret: [] for secret in SECRETS}

    def test_the_contact_is_refreshed_and_the_other_contacts_are_untouched(self, footprint, staff):
        erase(footprint, staff)
        assert footprint.contact.name == "" and footprint.contact.is_erased
        other = Contact.objects.get(email="other@acme.test")
        assert (other.name, other.opted_out, other.erased_at) == ("Other Person", False, None)

    def test_erasing_twice_changes_nothing_more(self, footprint, staff):
        erase(footprint, staff)
        before = Contact.objects.filter(pk=footprint.contact.pk).values().get()

        assert services.erase_contact(contact=footprint.contact, by=StaffFactory()) is False
        assert Contact.objects.filter(pk=footprint.contact.pk).values().get() == before

    def test_a_receiver_that_fails_rolls_the_whole_erasure_back(self, footprint, staff):
        def broken(**kwargs):
            raise RuntimeError("a receiver broke")

        contact_erased.connect(broken, dispatch_uid="test-broken-receiver")
        try:
            with pytest.raises(RuntimeError):
                erase(footprint, staff)
        finally:
            contact_erased.disconnect(dispatch_uid="test-broken-receiver")

        contact = Contact.objects.get(pk=footprint.contact.pk)
        assert (contact.name, contact.email, contact.erased_at) == (NAME, EMAIL, None)
        assert Response.objects.get(invitation=footprint.answered).comment == COMMENT

    def test_the_audit_place_hears_who_erased_which_contact(self, footprint, staff, monkeypatch):
        heard = []
        monkeypatch.setattr(services, "record_erasure", lambda **kwargs: heard.append(kwargs))
        erase(footprint, staff)
        erase(footprint, staff)
        assert heard == [{"contact": footprint.contact, "by": staff}]  # once: the second call erased nothing


class TestWhatStays:
    def test_scores_stay_in_the_insights_figures_after_erasure(self, footprint, staff):
        api = api_for(staff)
        summary = api.get("/api/v1/insights/summary/").json()
        customer = Customer.objects.values("latest_score", "latest_band", "latest_answer_at").get(
            pk=footprint.customer.pk
        )
        assert summary["bands"]["at_risk"] == 1

        erase(footprint, staff)

        assert api.get("/api/v1/insights/summary/").json() == summary
        assert Customer.objects.values("latest_score", "latest_band", "latest_answer_at").get(
            pk=footprint.customer.pk
        ) == customer
        response = Response.objects.get(invitation=footprint.answered)
        assert (response.score, response.band, response.revisions) == (2, "at_risk", 1)
        assert ResponseRevision.objects.get().score == 2

    def test_the_alert_stays_with_its_score_and_names_no_one(self, footprint, staff):
        erase(footprint, staff)
        footprint.alert.refresh_from_db()
        footprint.unreachable_alert.refresh_from_db()
        assert footprint.alert.score == 2
        assert footprint.unreachable_alert.lost_contact_email == ""
        note = AlertNote.objects.get(alert=footprint.alert, author=footprint.manager)
        assert note.text == "Called an erased contact (an erased contact); she is upset."

    def test_alert_emails_and_webhooks_built_after_erasure_name_no_one(self, footprint, staff):
        erase(footprint, staff)
        for alert in Alert.objects.select_related("customer", "response").filter(customer=footprint.customer):
            assert shown(json.dumps(webhooks.payload(alert))) == [], alert.kind
            email = alert_emails.alert_escalation(alert, to=["lead@example.com"])
            assert shown(email.body + email.alternatives[0][0]) == [], alert.kind
        unreachable = Alert.objects.get(pk=footprint.unreachable_alert.pk)
        assert rules.unreachable_summary(unreachable).startswith("We can no longer reach Acme: an erased contact bounced")

    def test_an_address_another_customer_still_uses_keeps_its_own_mail_history(self, footprint, staff):
        elsewhere = ContactFactory(customer=CustomerFactory(), email=ADDRESS, name="Same Person Elsewhere")
        theirs = SentMessageFactory(recipient=ADDRESS)
        DeliveryEvent.objects.create(esp="Postmark", event_id="evt-theirs", digest="-", event_type="delivered",
                                     recipient=ADDRESS, message=theirs, occurred_at=timezone.now())

        erase(footprint, staff)

        # The erased contact's own survey emails and their events forget the address;
        # what was sent to the other customer's contact keeps it.
        assert list(OutgoingMessage.objects.filter(recipient__icontains=ADDRESS)) == [theirs]
        assert list(DeliveryEvent.objects.filter(recipient=ADDRESS).values_list("event_id", flat=True)) == [
            "evt-theirs"
        ]
        assert Contact.objects.get(pk=elsewhere.pk).email == ADDRESS


class TestLinksAndEmails:
    def test_the_erased_contacts_links_answer_as_unknown(self, client, footprint, staff):
        survey, unsubscribe = f"/s/{footprint.survey_token}/", f"/u/{footprint.unsubscribe_token}/"
        assert client.get(survey).status_code == 200
        unknown = client.get("/s/no-such-link-token-of-enough-length/")

        erase(footprint, staff)

        for url in (survey, survey + "thanks/", unsubscribe):
            response = client.get(url)
            assert response.status_code == 404, url
            assert without_csrf(response.content) == without_csrf(unknown.content)
        assert client.post(survey, {"score": "9", "comment": "again"}).status_code == 404
        assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 404
        assert not Invitation.objects.filter(contact=footprint.contact).exclude(
            token_hash=None, reminder_token_hash=None, unsubscribe_token_hash=None
        ).exists()

    def test_what_was_still_to_go_to_them_never_goes(self, footprint, staff):
        erase(footprint, staff)
        footprint.scheduled.refresh_from_db()
        assert (footprint.scheduled.status, footprint.scheduled.suppressed_reason) == (
            InvitationStatus.SUPPRESSED, SuppressedReason.OPTED_OUT,
        )
        mail.outbox.clear()

        outbox.send_due()
        survey_services.send_due_invitations(now=timezone.now() + timedelta(days=3))
        survey_services.send_due_reminders(now=timezone.now() + timedelta(days=4))

        # Only the alert's email to the account manager leaves, without the comment.
        assert [message.to for message in mail.outbox] == [["ana@example.com"]]
        assert shown(mail.outbox[0].body) == []
        footprint.queued.refresh_from_db()
        assert footprint.queued.status == InvitationStatus.SUPPRESSED
        assert footprint.queued.sent_at is None

    def test_a_late_delivery_event_about_their_email_is_kept_under_the_placeholder(self, footprint, staff):
        erase(footprint, staff)
        sent = OutgoingMessage.objects.get(kind=survey_services.INVITATION_MESSAGE, object_id=footprint.answered.pk)

        event = deliverability.record_delivery_event(
            esp="Postmark", event_type="bounced", bounce="hard", recipient=EMAIL, event_id="evt-late",
            message_id=sent.provider_message_id, mta_response=f"550 <{ADDRESS}> unknown",
        )

        assert event.recipient == sent.recipient == footprint.contact.email
        assert ADDRESS not in event.mta_response
        contact = Contact.objects.get(pk=footprint.contact.pk)
        assert (contact.undeliverable_at, contact.opt_out_reason) == (None, OptOutReason.ERASED)


class TestNothingWritesThemBack:
    def test_staff_cannot_opt_an_erased_contact_in_again(self, footprint, staff):
        erase(footprint, staff)
        services.opt_in_contact(contact=footprint.contact, by=staff)
        assert Contact.objects.get(pk=footprint.contact.pk).opted_out is True

    def test_writing_to_the_placeholder_address_changes_nothing(self, footprint, staff):
        erase(footprint, staff)
        placeholder = footprint.contact.email
        services.upsert_contact(customer=footprint.customer, email=placeholder, name="Someone", language="es")
        services.upsert_contacts(contacts=[services.ContactData(
            customer_id=footprint.customer.pk, email=placeholder, name="Someone", language="es"
        )])
        survey_services.record_delivery(delivery=survey_services.DeliveryData(
            customer=footprint.customer, reference="ORDER-9", delivered_at=timezone.now(),
            contact_email=placeholder, contact_name="Someone",
        ))
        contact = Contact.objects.get(pk=footprint.contact.pk)
        assert (contact.name, contact.email, contact.language) == ("", placeholder, "en")
        assert Invitation.objects.get(delivery__reference="ORDER-9").status == InvitationStatus.SUPPRESSED

    def test_the_old_address_given_again_is_a_new_contact(self, footprint, staff):
        erase(footprint, staff)
        contact, created = services.upsert_contact(customer=footprint.customer, email=EMAIL)
        assert created and contact.pk != footprint.contact.pk
        assert not Response.objects.filter(invitation__contact=contact).exists()


# --- The three ways in


class TestThePage:
    def url(self, contact: Contact) -> str:
        return reverse("customers:erase-contact", args=[contact.pk])

    def test_staff_see_an_erase_button_for_each_contact(self, client, footprint, staff):
        client.force_login(staff)
        page = client.get(reverse("customers:detail", args=[footprint.customer.pk])).content.decode()
        assert page.count('href="/contacts/') == 2
        assert f'href="{self.url(footprint.contact)}"' in page

    def test_account_managers_see_no_erase_button(self, client, footprint):
        client.force_login(footprint.manager)
        page = client.get(reverse("customers:detail", args=[footprint.customer.pk])).content.decode()
        assert "/erase/" not in page

    def test_staff_confirm_then_erase(self, client, footprint, staff):
        client.force_login(staff)
        confirm = client.get(self.url(footprint.contact))
        assert confirm.status_code == 200
        assert NAME in confirm.content.decode() and 'name="csrfmiddlewaretoken"' in confirm.content.decode()

        done = client.post(self.url(footprint.contact), {"confirm": "on"}, follow=True)

        assert done.redirect_chain == [(reverse("customers:detail", args=[footprint.customer.pk])
                                        + "#contacts-heading", 303)]
        page = done.content.decode()
        assert "The contact was erased" in page
        assert f"Erased on {timezone.localdate():%-d %b %Y}" in page
        assert shown(page) == []
        assert Contact.objects.get(pk=footprint.contact.pk).is_erased

    def test_without_the_box_ticked_nothing_is_erased(self, client, footprint, staff):
        client.force_login(staff)
        response = client.post(self.url(footprint.contact), {})
        assert response.status_code == 400
        assert "Tick the box to confirm" in response.content.decode()
        assert not Contact.objects.get(pk=footprint.contact.pk).is_erased

    def test_an_erased_contact_says_so(self, client, footprint, staff):
        erase(footprint, staff)
        client.force_login(staff)
        page = client.get(self.url(footprint.contact)).content.decode()
        assert "Already erased" in page
        again = client.post(self.url(footprint.contact), {"confirm": "on"}, follow=True)
        assert "That contact was erased already." in again.content.decode()

    def test_an_account_manager_cannot_erase(self, client, footprint):
        client.force_login(footprint.manager)
        assert client.get(self.url(footprint.contact)).status_code == 403
        assert client.post(self.url(footprint.contact), {"confirm": "on"}).status_code == 403
        assert not Contact.objects.get(pk=footprint.contact.pk).is_erased

    def test_an_unknown_contact_is_a_404(self, client, staff):
        client.force_login(staff)
        assert client.get(reverse("customers:erase-contact", args=[10**9])).status_code == 404


class TestTheAdminAction:
    url = reverse("admin:customers_contact_changelist")

    def post_action(self, client, contact: Contact, **extra) -> object:
        return client.post(self.url, {"action": "erase_contacts", "_selected_action": [contact.pk], **extra})

    def test_it_asks_to_confirm_before_erasing(self, client, footprint, staff):
        client.force_login(staff)
        confirm = self.post_action(client, footprint.contact)
        assert confirm.status_code == 200
        assert "Erase these contacts?" in confirm.content.decode()
        assert not Contact.objects.get(pk=footprint.contact.pk).is_erased

        done = self.post_action(client, footprint.contact, confirmed="yes")

        assert done.status_code == 302
        assert Contact.objects.get(pk=footprint.contact.pk).is_erased

    def test_it_needs_the_change_permission(self, client, footprint):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
        client.force_login(viewer)
        self.post_action(client, footprint.contact, confirmed="yes")
        assert not Contact.objects.get(pk=footprint.contact.pk).is_erased

    def test_an_erased_contact_is_read_only_in_the_admin(self, client, footprint, staff):
        erase(footprint, staff)
        client.force_login(staff)
        page = client.get(reverse("admin:customers_contact_change", args=[footprint.contact.pk])).content.decode()
        assert 'name="email"' not in page and 'name="name"' not in page


class TestTheApi:
    def url(self, contact_id: int) -> str:
        return f"/api/v1/contacts/{contact_id}/erase/"

    def test_staff_erase_a_contact_and_get_it_back_as_the_api_shows_it(self, footprint, staff):
        response = api_for(staff).post(self.url(footprint.contact.pk))
        assert response.status_code == 200
        contact = Contact.objects.get(pk=footprint.contact.pk)
        assert response.json() == {
            "id": contact.pk, "customer": "CRM-ACME", "email": f"erased-{contact.pk}@erased.invalid", "name": "",
            "language": "en", "opted_out": True, "erased_at": contact.erased_at.isoformat().replace("+00:00", "Z"),
        }

    def test_erasing_again_answers_the_same(self, footprint, staff):
        api = api_for(staff)
        first = api.post(self.url(footprint.contact.pk)).json()
        assert api.post(self.url(footprint.contact.pk)).json() == first

    def test_an_unknown_contact_is_a_404(self, staff):
        assert api_for(staff).post(self.url(10**9)).status_code == 404

    def test_an_account_manager_cannot_erase(self, footprint):
        response = api_for(footprint.manager).post(self.url(footprint.contact.pk))
        assert response.status_code == 403
        assert not Contact.objects.get(pk=footprint.contact.pk).is_erased


# --- Never shown again


def test_exports_and_api_never_show_erased_data(client, footprint, staff, settings, tmp_path):
    erase(footprint, staff)
    # What goes out after the erasure lands in the dev mailbox (before it, locmem kept it).
    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    outbox.send_due()
    client.force_login(staff)
    api = api_for(staff)
    mailbox = client.get(reverse("mailbox"))
    names = re.findall(r'href="/mailbox/([^/"]+)/"', mailbox.content.decode())
    assert len(names) == 1  # the alert's email to the account manager
    bodies = {
        "responses.csv": client.get(reverse("insights:export-responses")),
        "customers.csv": client.get(reverse("insights:export-customers")),
        "customer page": client.get(reverse("customers:detail", args=[footprint.customer.pk])),
        "alert page": client.get(reverse("insights:alert", args=[footprint.alert.pk])),
        "unreachable alert page": client.get(reverse("insights:alert", args=[footprint.unreachable_alert.pk])),
        "alert queue": client.get(reverse("insights:alerts")),
        "insights": client.get(reverse("insights:insights")),
        "deliverability": client.get(reverse("customers:deliverability")),
        "mailbox": mailbox,
        "mailbox message": client.get(reverse("mailbox-message", args=[names[0]])),
        "mailbox html": client.get(reverse("mailbox-message-html", args=[names[0]])),
        "contacts API": api.get("/api/v1/contacts/"),
        "responses API": api.get("/api/v1/responses/"),
        "alerts API": api.get("/api/v1/alerts/"),
        "alert API": api.get(f"/api/v1/alerts/{footprint.unreachable_alert.pk}/"),
        "contacts admin": client.get(reverse("admin:customers_contact_changelist")),
        "contact admin": client.get(reverse("admin:customers_contact_change", args=[footprint.contact.pk])),
        "contact history": client.get(reverse("admin:customers_contact_history", args=[footprint.contact.pk])),
        "customer history": client.get(reverse("admin:customers_customer_history", args=[footprint.customer.pk])),
        "responses admin": client.get(reverse("admin:surveys_response_changelist")),
        "outbox admin": client.get(reverse("admin:core_outgoingmessage_changelist")),
        "invitations admin": client.get(reverse("admin:surveys_invitation_changelist")),
        "alert notes admin": client.get(reverse("admin:insights_alertnote_changelist")),
        "admin home": client.get(reverse("admin:index")),
    }
    assert {where: response.status_code for where, response in bodies.items()} == dict.fromkeys(bodies, 200)
    assert {where: shown(body_of(response)) for where, response in bodies.items()} == dict.fromkeys(bodies, [])

    export = body_of(client.get(reverse("insights:export-responses"))).lstrip("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(export)))
    assert (row["contact_email"], row["score"], row["comment"]) == ("erased", "2", "")

"""The audit trail: who changed what, and when, whichever way the change came in
(pages, the API, the admin, imports, the system itself), read by staff on the object's
page and in the admin, and never edited there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core import audit
from customers import deliverability, services
from customers.models import Contact, Customer
from insights.models import AlertStatus
from surveys.models import hash_token
from tests.factories import (
    AlertFactory,
    ApiStaffFactory,
    ContactFactory,
    CustomerFactory,
    StaffFactory,
    SurveyFactory,
    UserFactory,
    sent_invitation,
)

pytestmark = pytest.mark.django_db


def entries_about(instance) -> list[LogEntry]:
    return list(LogEntry.objects.get_for_object(instance).order_by("timestamp", "pk"))


def last_entry_about(instance) -> LogEntry:
    return entries_about(instance)[-1]


def api_client(user) -> tuple[APIClient, AuthToken]:
    token, secret = AuthToken.objects.create(user=user)
    client = APIClient(REMOTE_ADDR="198.51.100.4")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client, token


class TestWhoIsRecorded:
    def test_an_api_call_names_the_tokens_owner_the_token_and_the_address(self):
        integrator = ApiStaffFactory(username="integrator")
        customer = CustomerFactory(external_id="CRM-1", name="Acme")
        api, token = api_client(integrator)
        assert api.patch("/api/v1/customers/CRM-1/", {"name": "Acme Ltd"}, format="json").status_code == 200
        entry = last_entry_about(customer)
        assert (entry.actor, entry.changes_dict["name"]) == (integrator, ["Acme", "Acme Ltd"])
        assert entry.additional_data == {"via": f"API token {token.token_key}"}
        assert entry.remote_addr == "198.51.100.4"

    def test_a_page_names_the_signed_in_person(self, client):
        manager = UserFactory(username="ana")
        alert = AlertFactory(customer__account_manager=manager, assignee=manager)
        client.force_login(manager)
        assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "Calling them."}).status_code in (200, 303)
        entry = last_entry_about(alert)
        assert (entry.actor, entry.changes_dict["status"]) == (manager, [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED])
        (note,) = alert.notes.all()
        assert entries_about(note)[0].actor == manager

    def test_the_admin_names_the_staff_member(self, client):
        admin = UserFactory(username="root", is_staff=True, is_superuser=True)
        client.force_login(admin)
        assert client.post("/admin/auth/group/add/", {"name": "CX leads"}).status_code == 302
        entry = last_entry_about(Group.objects.get(name="CX leads"))
        assert (entry.actor, entry.action, entry.changes_dict["name"]) == (admin, LogEntry.Action.CREATE, ["None", "CX leads"])

    def test_an_import_names_who_ran_it(self, tmp_path):
        lead = StaffFactory(username="cx.lead")
        file = tmp_path / "customers.csv"
        file.write_text("external_id,name\nCRM-7,Globex\n")
        call_command("import_csv", "customers", str(file), "--by", "cx.lead", "--no-progress")
        entry = last_entry_about(Customer.objects.get(external_id="CRM-7"))
        assert (entry.actor, entry.action, entry.changes_dict["name"]) == (lead, LogEntry.Action.CREATE, ["None", "Globex"])

    def test_an_import_by_someone_unknown_is_refused_before_anything_is_written(self, tmp_path):
        file = tmp_path / "customers.csv"
        file.write_text("external_id,name\nCRM-7,Globex\n")
        with pytest.raises(CommandError, match="--by: no user is called 'nobody'"):
            call_command("import_csv", "customers", str(file), "--by", "nobody", "--no-progress")
        assert not Customer.objects.exists()

    def test_what_happens_outside_any_request_is_valuepulses_own(self):
        contact = ContactFactory(email="gone@example.com")
        deliverability.record_delivery_event(
            esp="Postmark", event_type="bounced", bounce="hard", recipient="gone@example.com",
            message_id="", occurred_at=timezone.now(),
        )
        entry = last_entry_about(contact)
        assert (entry.actor, entry.remote_addr) == (None, None)
        assert entry.changes_dict["undeliverable_reason"] == ["", "bounced"]
        assert audit.trail(contact)[0].who == "ValuePulse"

    def test_a_request_leaves_no_one_behind_for_later_changes(self, client):
        client.force_login(StaffFactory())
        client.get("/customers/")
        customer = CustomerFactory()
        assert entries_about(customer)[0].actor is None


class TestWhatIsRecorded:
    def test_a_bulk_upsert_records_each_new_and_changed_customer_and_nothing_for_the_unchanged(self):
        api, _ = api_client(ApiStaffFactory())
        same = CustomerFactory(external_id="CRM-1", name="Same")
        renamed = CustomerFactory(external_id="CRM-2", name="Old name")
        rows = [
            {"external_id": "CRM-1", "name": "Same"},
            {"external_id": "CRM-2", "name": "New name"},
            {"external_id": "CRM-3", "name": "Brand new"},
        ]
        assert api.post("/api/v1/customers/bulk/", rows, format="json").status_code == 200
        assert [entry.action for entry in entries_about(same)] == [LogEntry.Action.CREATE]
        assert last_entry_about(renamed).changes_dict == {"name": ["Old name", "New name"]}
        created = last_entry_about(Customer.objects.get(external_id="CRM-3"))
        assert (created.action, created.changes_dict["name"]) == (LogEntry.Action.CREATE, ["None", "Brand new"])

    def test_contacts_written_in_bulk_are_recorded_with_what_changed(self):
        api, _ = api_client(ApiStaffFactory())
        customer = CustomerFactory(external_id="CRM-1")
        known = ContactFactory(customer=customer, email="jane@example.com", name="Jane")
        rows = [
            {"customer": "CRM-1", "email": "jane@example.com", "name": "Jane Doe"},
            {"customer": "CRM-1", "email": "new@example.com", "name": "New"},
        ]
        for row in rows:
            assert api.post("/api/v1/contacts/", row, format="json").status_code in (200, 201)
        assert last_entry_about(known).changes_dict == {"name": ["Jane", "Jane Doe"]}
        assert last_entry_about(Contact.objects.get(email="new@example.com")).action == LogEntry.Action.CREATE

    def test_contacts_met_in_a_bulk_delivery_call_are_each_recorded_in_full_in_the_rows_order(self):
        integrator = ApiStaffFactory(username="integrator")
        api, token = api_client(integrator)
        customer = CustomerFactory(external_id="CRM-1")
        rows = [
            {"customer": "CRM-1", "reference": f"D-{n}", "delivered_at": "2026-11-02T09:00:00+00:00",
             "contact_email": f"new{n}@example.com", "contact_name": f"New {n}"}
            for n in range(3)
        ]
        before = timezone.now()
        assert api.post("/api/v1/deliveries/bulk/", rows, format="json").status_code == 200
        contacts = [Contact.objects.get(email=f"new{n}@example.com") for n in range(3)]
        entries = [last_entry_about(contact) for contact in contacts]
        assert [entry.pk for entry in entries] == sorted(entry.pk for entry in entries)
        for n, (contact, entry) in enumerate(zip(contacts, entries)):
            assert (entry.object_pk, entry.object_id, entry.object_repr) == (str(contact.pk), contact.pk, str(contact))
            assert (entry.action, entry.actor, entry.actor_email) == (LogEntry.Action.CREATE, integrator, integrator.email)
            assert entry.changes_dict == {
                "customer": ["None", str(customer.pk)],
                "email": ["None", f"new{n}@example.com"],
                "name": ["None", f"New {n}"],
                "language": ["None", contact.language],
            }
            assert (entry.remote_addr, entry.additional_data) == ("198.51.100.4", {"via": f"API token {token.token_key}"})
            assert (entry.changes_text, entry.serialized_data) == ("", None)
            assert before <= entry.timestamp <= timezone.now()

    def test_contacts_met_in_a_bulk_call_from_no_known_address_are_recorded_without_one(self):
        """An empty client address is stored as none, as auditlog's own entries store it
        (the bulk entries are written in one INSERT, not through the model's field)."""
        api, _ = api_client(ApiStaffFactory(username="integrator"))
        CustomerFactory(external_id="CRM-1")
        row = {"customer": "CRM-1", "reference": "D-1", "delivered_at": "2026-11-02T09:00:00+00:00",
               "contact_email": "new@example.com", "contact_name": "New"}
        assert api.post("/api/v1/deliveries/bulk/", [row], format="json", REMOTE_ADDR="").status_code == 200
        assert last_entry_about(Contact.objects.get(email="new@example.com")).remote_addr is None

    def test_an_opt_out_on_the_unsubscribe_page_is_recorded_with_the_address(self, client):
        invitation = sent_invitation(unsubscribe_token_hash=hash_token("an-unsubscribe-token"))
        client.post("/u/an-unsubscribe-token/", {"List-Unsubscribe": "One-Click"}, REMOTE_ADDR="203.0.113.9")
        entry = last_entry_about(invitation.contact)
        assert entry.changes_dict["opted_out"] == ["False", "True"]
        assert (entry.actor, entry.remote_addr) == (None, "203.0.113.9")
        assert audit.trail(invitation.contact)[0].who == "Someone at 203.0.113.9"

    def test_staff_opting_a_contact_in_again_is_recorded(self):
        lead = StaffFactory()
        contact = ContactFactory(opted_out=True, opted_out_at=timezone.now(), opt_out_reason="unsubscribed")
        services.opt_in_contact(contact=contact, by=lead)
        entry = last_entry_about(contact)
        assert (entry.actor, entry.changes_dict["opted_out"]) == (lead, ["True", "False"])

    def test_reassigning_an_alert_names_both_people_in_the_trail(self, client):
        ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
        lead = StaffFactory(username="cx.lead")
        CustomerFactory(account_manager=ben)  # an account manager, to whom alerts may go
        alert = AlertFactory(customer__account_manager=ana, assignee=ana)
        client.force_login(lead)
        assert client.post(f"/alerts/{alert.pk}/reassign/", {"assignee": ben.pk, "reason": "Ben knows them"}).status_code in (200, 303)
        (change,) = [change for change in audit.trail(alert)[0].changes if change.field == "assignee"]
        assert (change.before, change.after) == ("ana", "ben")

    def test_users_their_groups_and_api_tokens_are_recorded(self):
        user = UserFactory(username="new.hire")
        group = Group.objects.create(name="Account managers")
        user.groups.add(group)
        token, _ = AuthToken.objects.create(user=user, expiry=timedelta(days=30))
        assert entries_about(user)[0].action == LogEntry.Action.CREATE
        membership = last_entry_about(user).changes_dict["groups"]
        assert (membership["operation"], membership["objects"]) == ("add", ["Account managers"])
        assert entries_about(token)[0].changes_dict["user"][1] == str(user.pk)

    def test_a_password_change_is_recorded_without_the_hash(self):
        user = UserFactory()
        user.set_password("a new secret phrase")
        user.save()
        before, after = last_entry_about(user).changes_dict["password"]
        assert user.password not in (before, after)

    def test_a_survey_edit_is_recorded(self):
        survey = SurveyFactory(name="Post-delivery")
        survey.name = "After delivery"
        survey.save()
        assert last_entry_about(survey).changes_dict["name"] == ["Post-delivery", "After delivery"]


class TestReading:
    def test_staff_read_a_customers_trail_and_its_contacts_on_its_page(self, client):
        lead = StaffFactory(username="cx.lead", first_name="Cleo", last_name="Lead")
        customer = CustomerFactory(name="Acme")
        contact = ContactFactory(customer=customer, name="Jane")
        with audit.acting_as(lead):
            contact.name = "Jane Doe"
            contact.save()
        client.force_login(lead)
        page = client.get(f"/customers/{customer.pk}/").content.decode()
        assert "Audit trail" in page
        assert "Cleo Lead" in page and "Jane → Jane Doe" in page

    def test_an_account_manager_reads_no_trail(self, client):
        manager = UserFactory()
        customer = CustomerFactory(account_manager=manager)
        client.force_login(manager)
        assert "Audit trail" not in client.get(f"/customers/{customer.pk}/").content.decode()

    def test_staff_read_an_alerts_trail_on_its_page(self, client):
        lead = StaffFactory()
        alert = AlertFactory()
        with audit.acting_as(lead):
            alert.status = AlertStatus.ACKNOWLEDGED
            alert.save()
        client.force_login(lead)
        page = client.get(f"/alerts/{alert.pk}/").content.decode()
        assert "Audit trail" in page and "Open → Acknowledged" in page

    def test_the_admins_history_of_an_object_is_its_trail(self, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        customer = CustomerFactory(name="Acme")
        with audit.acting_as(admin):
            customer.name = "Acme Ltd"
            customer.save()
        client.force_login(admin)
        page = client.get(f"/admin/customers/customer/{customer.pk}/history/").content.decode()
        assert "Acme → Acme Ltd" in page

    def test_entries_cannot_be_added_changed_or_deleted_even_by_a_superuser(self, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        entry = entries_about(CustomerFactory())[0]
        client.force_login(admin)
        assert client.get("/admin/auditlog/logentry/").status_code == 200
        assert client.get("/admin/auditlog/logentry/add/").status_code == 403
        client.post(f"/admin/auditlog/logentry/{entry.pk}/change/", {"object_repr": "forged"})
        assert client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
        entry.refresh_from_db()
        assert entry.object_repr != "forged"

    def test_the_trail_reads_in_a_fixed_number_of_queries(self, django_assert_num_queries):
        customer = CustomerFactory()
        people = UserFactory.create_batch(3)
        for person in people:
            with audit.acting_as(person):
                customer.account_manager = person
                customer.save()
        # entries with actors and content types; the people the changes name
        with django_assert_num_queries(2):
            trail = audit.trail(customer)
        assert [entry.changes[0].after for entry in trail[:3]] == [person.username for person in reversed(people)]


class TestErasure:
    def test_an_erasure_is_recorded_with_who_and_when_and_nothing_of_what_was_erased(self):
        lead = StaffFactory(username="cx.lead")
        contact = ContactFactory(name="Zelda Quist", email="zelda.quist@example.com")
        contact.name = "Zelda Q. Quist"
        contact.save()
        services.erase_contact(contact=contact, by=lead)
        entries = entries_about(contact)
        erasure = entries[-1]
        assert (erasure.actor, list(erasure.changes_dict)) == (lead, ["erased_at"])
        written = " ".join(f"{entry.object_repr} {entry.changes}" for entry in entries)
        assert "Zelda" not in written and "zelda.quist" not in written
        assert "[erased]" in written

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import Contact, Customer
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = ["customer", "contact", "invoice"]


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="lead", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def invoice():
    customer = CustomerFactory(name="Acme", external_id="CRM-ACME", account_manager=UserFactory())
    ContactFactory(customer=customer, email="buyer@acme.test")
    return InvoiceFactory(customer=customer, number="INV-7")


def changelist(model: str) -> str:
    return reverse(f"admin:customers_{model}_changelist")


class TestAdminPages:
    @pytest.mark.parametrize("model", MODELS)
    def test_the_changelist_loads(self, admin_client, invoice, model):
        assert admin_client.get(changelist(model)).status_code == 200

    @pytest.mark.parametrize("model", MODELS)
    def test_the_add_form_loads(self, admin_client, model):
        assert admin_client.get(reverse(f"admin:customers_{model}_add")).status_code == 200

    @pytest.mark.parametrize("model", MODELS)
    def test_the_change_form_loads(self, admin_client, invoice, model):
        obj = {"customer": invoice.customer, "contact": invoice.customer.contacts.get(), "invoice": invoice}[model]
        url = reverse(f"admin:customers_{model}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200

    def test_account_managers_cannot_open_the_admin(self, client):
        client.force_login(UserFactory())
        assert client.get(changelist("customer")).status_code == 302


class TestCustomerAdmin:
    def test_search_finds_a_customer_by_contact_email(self, admin_client, invoice):
        CustomerFactory(name="Globex")
        response = admin_client.get(changelist("customer"), {"q": "buyer@acme"})
        assert [customer.name for customer in response.context["cl"].result_list] == ["Acme"]

    def test_the_change_form_links_to_the_customers_invoices(self, admin_client, invoice):
        url = reverse("admin:customers_customer_change", args=[invoice.customer.pk])
        html = admin_client.get(url).content.decode()
        assert f'{changelist("invoice")}?customer__id__exact={invoice.customer.pk}' in html
        assert "buyer@acme.test" in html

    def test_the_invoice_link_lists_only_that_customers_invoices(self, admin_client, invoice):
        InvoiceFactory(number="OTHER")
        response = admin_client.get(changelist("invoice"), {"customer__id__exact": invoice.customer.pk})
        assert response.status_code == 200
        assert [row.number for row in response.context["cl"].result_list] == ["INV-7"]

    def test_derived_fields_are_read_only(self, admin_client, invoice):
        response = admin_client.get(reverse("admin:customers_customer_change", args=[invoice.customer.pk]))
        form_fields = response.context["adminform"].form.fields
        for name in ("revenue_12m", "net_value", "tier", "on_time_rate", "latest_score", "latest_band"):
            assert name not in form_fields, name

    def test_the_action_has_a_worker_recompute_value_metrics_and_tiers(
        self, admin_client, django_capture_on_commit_callbacks
    ):
        big = CustomerFactory(name="Big")
        small = CustomerFactory(name="Small")
        InvoiceFactory(customer=big, amount=Decimal("9000.00"))
        InvoiceFactory(customer=small, amount=Decimal("1000.00"))
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                changelist("customer"),
                {"action": "recompute_value_metrics", "_selected_action": [big.pk]},
                follow=True,
            )
        assert "being recomputed in the background" in response.content.decode()
        big.refresh_from_db()
        small.refresh_from_db()
        assert (big.revenue_12m, big.tier) == (Decimal("9000.00"), 1)
        assert small.tier == 3
        assert small.metrics_updated_at is not None

    @pytest.mark.parametrize("count", [3, 30])
    def test_the_changelist_makes_a_constant_number_of_queries(
        self, admin_client, django_assert_num_queries, count
    ):
        managers = UserFactory.create_batch(2)
        for index in range(count):
            CustomerFactory(account_manager=managers[index % 2])
        # session, user, two counts, the page with managers joined, the managers for the filter
        with django_assert_num_queries(6):
            admin_client.get(changelist("customer"))


class TestInvoiceAdmin:
    @pytest.fixture
    def invoices(self):
        today = timezone.localdate()
        days = timedelta(days=1)
        InvoiceFactory(number="PAID", issued_on=today - 50 * days, due_on=today - 20 * days, paid_on=today)
        InvoiceFactory(number="OPEN", issued_on=today - 5 * days, due_on=today + 25 * days, paid_on=None)
        InvoiceFactory(number="LATE", issued_on=today - 40 * days, due_on=today - 10 * days, paid_on=None)

    @pytest.mark.parametrize(
        ("status", "number"), [("paid", "PAID"), ("unpaid", "OPEN"), ("overdue", "LATE")]
    )
    def test_the_payment_status_filter(self, admin_client, invoices, status, number):
        response = admin_client.get(changelist("invoice"), {"status": status})
        assert [row.number for row in response.context["cl"].result_list] == [number]

    def test_the_status_column_counts_the_days_overdue(self, admin_client, invoices):
        html = admin_client.get(changelist("invoice")).content.decode()
        assert "Overdue 10 days" in html
        assert "<td class=\"field-status\">Paid</td>" in html
        assert "<td class=\"field-status\">Unpaid</td>" in html

    def test_search_by_customer_external_id(self, admin_client, invoice):
        InvoiceFactory(number="OTHER")
        response = admin_client.get(changelist("invoice"), {"q": "crm-acme"})
        assert [row.number for row in response.context["cl"].result_list] == ["INV-7"]

    def test_the_customer_is_picked_by_autocomplete(self, admin_client, invoice):
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "customers", "model_name": "invoice", "field_name": "customer", "term": "acme"},
        )
        assert response.status_code == 200
        assert [result["text"] for result in response.json()["results"]] == ["Acme"]


class TestContactAdmin:
    def test_search_by_customer_name(self, admin_client, invoice):
        ContactFactory(email="someone@globex.test", customer=CustomerFactory(name="Globex"))
        response = admin_client.get(changelist("contact"), {"q": "acme"})
        assert [row.email for row in response.context["cl"].result_list] == ["buyer@acme.test"]

    def test_a_contact_can_be_added_through_the_admin(self, admin_client, invoice):
        response = admin_client.post(
            reverse("admin:customers_contact_add"),
            {"customer": invoice.customer.pk, "email": "new@acme.test", "name": "New", "language": "en"},
        )
        assert response.status_code == 302
        assert Customer.objects.get(pk=invoice.customer.pk).contacts.filter(email="new@acme.test").exists()


class TestOptingOutInTheAdmin:
    """Ticking "opted out" opts the contact out through the service (reason "staff");
    unticking opts them in through the service, logged with who did it."""

    @pytest.fixture
    def contact(self):
        return ContactFactory(customer=CustomerFactory(name="Acme"), email="jo@acme.test", name="Jo")

    def change_contact(self, admin_client, contact, *, opted_out: bool, name: str = "Jo"):
        data = {"customer": contact.customer.pk, "email": contact.email, "name": name, "language": "en"}
        if opted_out:
            data["opted_out"] = "on"  # how a browser sends a ticked box
        response = admin_client.post(reverse("admin:customers_contact_change", args=[contact.pk]), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        return Contact.objects.get(pk=contact.pk)

    def change_through_the_customer(self, admin_client, contact, *, opted_out: bool):
        customer = contact.customer
        data = {
            "external_id": customer.external_id, "name": customer.name, "is_active": "on",
            "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "1",
            "contacts-MIN_NUM_FORMS": "0", "contacts-MAX_NUM_FORMS": "1000",
            "contacts-0-id": contact.pk, "contacts-0-customer": customer.pk,
            "contacts-0-name": contact.name, "contacts-0-email": contact.email, "contacts-0-language": "en",
        }
        if opted_out:
            data["contacts-0-opted_out"] = "on"
        response = admin_client.post(reverse("admin:customers_customer_change", args=[customer.pk]), data)
        assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
        return Contact.objects.get(pk=contact.pk)

    def test_ticking_opted_out_opts_the_contact_out_as_staff(self, admin_client, contact):
        contact = self.change_contact(admin_client, contact, opted_out=True)
        assert (contact.opted_out, contact.opt_out_reason) == (True, "staff")
        assert contact.opted_out_at is not None

    def test_unticking_it_opts_the_contact_in_and_says_who(self, admin_client, contact, caplog):
        services.opt_out_contact(contact=contact, reason="complained")
        with caplog.at_level("INFO", logger="customers.services"):
            contact = self.change_contact(admin_client, contact, opted_out=False)
        assert (contact.opted_out, contact.opted_out_at, contact.opt_out_reason) == (False, None, "")
        assert f"Contact {contact.pk} opted in again by lead (was: complained)" in caplog.text

    def test_other_edits_leave_the_opt_out_and_its_reason_alone(self, admin_client, contact):
        services.opt_out_contact(contact=contact, reason="complained")
        contact = self.change_contact(admin_client, contact, name="Jo Buyer", opted_out=True)
        assert (contact.name, contact.opted_out, contact.opt_out_reason) == ("Jo Buyer", True, "complained")

    def test_a_contact_added_opted_out_is_opted_out_as_staff(self, admin_client, contact):
        response = admin_client.post(
            reverse("admin:customers_contact_add"),
            {"customer": contact.customer.pk, "email": "new@acme.test", "language": "en", "opted_out": "on"},
        )
        assert response.status_code == 302
        added = Contact.objects.get(email="new@acme.test")
        assert (added.opted_out, added.opt_out_reason) == (True, "staff")

    def test_ticking_it_in_the_customers_contact_list_goes_through_the_service_too(self, admin_client, contact):
        contact = self.change_through_the_customer(admin_client, contact, opted_out=True)
        assert (contact.opted_out, contact.opt_out_reason) == (True, "staff")

    def test_unticking_it_in_the_customers_contact_list_opts_in(self, admin_client, contact, caplog):
        services.opt_out_contact(contact=contact, reason="unsubscribed")
        with caplog.at_level("INFO", logger="customers.services"):
            contact = self.change_through_the_customer(admin_client, contact, opted_out=False)
        assert (contact.opted_out, contact.opt_out_reason) == (False, "")
        assert "opted in again by lead" in caplog.text

    def test_delivery_state_is_shown_but_not_editable(self, admin_client, contact):
        Contact.objects.filter(pk=contact.pk).update(
            undeliverable_at=timezone.now(), undeliverable_reason="bounced"
        )
        response = admin_client.get(reverse("admin:customers_contact_change", args=[contact.pk]))
        form_fields = response.context["adminform"].form.fields
        for name in ("opt_out_reason", "undeliverable_at", "undeliverable_reason", "reenabled_at"):
            assert name not in form_fields, name
        assert "Hard bounce" in response.content.decode()

    def test_the_list_says_whether_each_contact_is_reachable(self, admin_client, contact):
        Contact.objects.filter(pk=contact.pk).update(
            undeliverable_at=timezone.now(), undeliverable_reason="bounced"
        )
        html = admin_client.get(changelist("contact")).content.decode()
        assert "No: bounced, " in html


class TestCustomerAdminGoesThroughTheServices:
    def test_making_a_customer_inactive_recomputes_the_tiers(self, admin_client, django_capture_on_commit_callbacks):
        from decimal import Decimal

        from django.urls import reverse

        from customers.models import Customer
        from tests.factories import CustomerFactory, InvoiceFactory

        customer = CustomerFactory(name="Acme", external_id="CRM-1")
        InvoiceFactory(customer=customer, amount=Decimal("100"))
        Customer.objects.filter(pk=customer.pk).update(tier=1)
        url = reverse("admin:customers_customer_change", args=[customer.pk])
        form = {
            "external_id": "CRM-1", "name": "Acme", "account_manager": "", "cost_to_serve": "", "time_zone": "",
            "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
        }  # is_active left unticked

        with django_capture_on_commit_callbacks(execute=True):
            answer = admin_client.post(url, form)

        assert answer.status_code == 302, answer.content.decode()[:2000]
        customer.refresh_from_db()
        assert (customer.is_active, customer.tier) == (False, None)


class TestDeletingCustomersInTheAdmin:
    def test_ranks_the_other_customers_tiers_again(self, admin_client, django_capture_on_commit_callbacks):
        # Tiers rank each customer's revenue among all the others': the ones left move up.
        customers = [CustomerFactory() for _ in range(4)]
        for customer, amount in zip(customers, ("400", "300", "200", "100"), strict=True):
            InvoiceFactory(customer=customer, amount=Decimal(amount))
        services.recompute_value_metrics()
        smallest = customers[-1]
        smallest.refresh_from_db()
        tier_among_four = smallest.tier

        with django_capture_on_commit_callbacks(execute=True):
            answer = admin_client.post(
                changelist("customer"),
                {"action": "delete_selected", "_selected_action": [c.pk for c in customers[:3]], "post": "yes"},
            )

        assert answer.status_code == 302
        smallest.refresh_from_db()
        assert smallest.tier != tier_among_four
        assert services.recompute_value_metrics() == 0  # a full recompute finds nothing left to change

    def test_one_customer_deleted_from_its_page_does_the_same(self, admin_client, django_capture_on_commit_callbacks):
        big, small = CustomerFactory(), CustomerFactory()
        InvoiceFactory(customer=big, amount=Decimal("900"))
        InvoiceFactory(customer=small, amount=Decimal("100"))
        services.recompute_value_metrics()

        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:customers_customer_delete", args=[big.pk]), {"post": "yes"})

        assert not Customer.objects.filter(pk=big.pk).exists()
        assert services.recompute_value_metrics() == 0


class TestInvoiceAdminGoesThroughTheServices:
    def test_changing_an_invoice_recomputes_the_customers_value(self, admin_client, django_capture_on_commit_callbacks):
        invoice = InvoiceFactory(amount=Decimal("100.00"))
        form = {
            "number": invoice.number, "customer": invoice.customer.pk, "amount": "2500.00",
            "issued_on": invoice.issued_on.isoformat(), "due_on": invoice.due_on.isoformat(), "paid_on": "",
        }
        with django_capture_on_commit_callbacks(execute=True):
            answer = admin_client.post(reverse("admin:customers_invoice_change", args=[invoice.pk]), form)
        assert answer.status_code == 302, answer.content.decode()[:2000]
        invoice.customer.refresh_from_db()
        assert invoice.customer.revenue_12m == Decimal("2500.00")

    def test_deleting_invoices_recomputes_the_customers_value(self, admin_client, django_capture_on_commit_callbacks):
        invoice = InvoiceFactory(amount=Decimal("100.00"))
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                changelist("invoice"),
                {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"},
            )
        invoice.customer.refresh_from_db()
        assert invoice.customer.revenue_12m == Decimal("0")

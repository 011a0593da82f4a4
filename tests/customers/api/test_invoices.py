from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Customer, Invoice
from tests.factories import CustomerFactory, InvoiceFactory

from .bulk import insert_statements

pytestmark = pytest.mark.django_db

URL = "/api/v1/invoices/"
BULK_URL = "/api/v1/invoices/bulk/"


@pytest.fixture
def customer():
    return CustomerFactory(external_id="CRM-1")


def body(**overrides) -> dict:
    return {
        "customer": "CRM-1", "number": "INV-1", "amount": "1500.00",
        "issued_on": "2026-01-10", "due_on": "2026-02-09", "paid_on": None, **overrides,
    }


class TestPostInvoice:
    def test_it_creates_an_invoice_with_201(self, api, customer):
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        assert response.json() == body()
        invoice = Invoice.objects.get()
        assert (invoice.customer, invoice.amount, invoice.paid_on) == (customer, Decimal("1500.00"), None)

    def test_the_same_customer_and_number_updates_with_200(self, api, customer):
        InvoiceFactory(customer=customer, number="INV-1", amount=Decimal("1.00"))
        response = api.post(URL, body(amount="99.50", paid_on="2026-02-01"), format="json")
        assert response.status_code == 200
        invoice = Invoice.objects.get()
        assert (invoice.amount, invoice.paid_on) == (Decimal("99.50"), date(2026, 2, 1))

    def test_the_same_number_at_another_customer_is_another_invoice(self, api, customer):
        InvoiceFactory(customer=CustomerFactory(), number="INV-1")
        assert api.post(URL, body(), format="json").status_code == 201
        assert Invoice.objects.count() == 2

    def test_paid_on_left_out_means_unpaid(self, api, customer):
        payload = body()
        del payload["paid_on"]
        assert api.post(URL, payload, format="json").status_code == 201
        assert Invoice.objects.get().paid_on is None

    def test_tiers_are_recomputed_once_committed(self, api, customer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(URL, body(issued_on=date.today().isoformat(), due_on=date.today().isoformat()), format="json")
        customer.refresh_from_db()
        assert (customer.revenue_12m, customer.tier) == (Decimal("1500.00"), 1)

    def test_it_rejects_an_unknown_customer_and_creates_none(self, api, customer):
        response = api.post(URL, body(customer="CRM-404"), format="json")
        assert response.status_code == 400
        assert response.json() == {"customer": ['No customer with external ID "CRM-404".']}
        assert Customer.objects.count() == 1
        assert not Invoice.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("amount", "-0.01", "Ensure this value is greater than or equal to 0."),
            ("amount", "twelve", "A valid number is required."),
            ("amount", None, "This field may not be null."),
            ("amount", "1.005", "Ensure that there are no more than 2 decimal places."),
            ("issued_on", "10/01/2026", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
            ("due_on", "2026-02-30", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
            ("paid_on", "yesterday", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
            ("number", "", "This field may not be blank."),
            ("number", "N" * 65, "Ensure this field has no more than 64 characters."),
            ("customer", None, "This field may not be null."),
        ],
    )
    def test_it_rejects_a_bad_value(self, api, customer, field, value, message):
        response = api.post(URL, body(**{field: value}), format="json")
        assert response.status_code == 400
        assert response.json() == {field: [message]}
        assert not Invoice.objects.exists()

    def test_it_rejects_a_due_date_before_the_issue_date(self, api, customer):
        response = api.post(URL, body(issued_on="2026-03-01", due_on="2026-02-28"), format="json")
        assert response.status_code == 400
        assert response.json() == {"due_on": ["Must be on or after issued_on (2026-03-01)."]}

    def test_it_accepts_a_due_date_on_the_issue_date(self, api, customer):
        response = api.post(URL, body(issued_on="2026-03-01", due_on="2026-03-01"), format="json")
        assert response.status_code == 201

    def test_it_rejects_an_invoice_number_with_a_line_break(self, api, customer):
        response = api.post(URL, body(number="INV-1\r\nX"), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["number"]

    def test_it_names_every_missing_required_field(self, api):
        response = api.post(URL, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"customer", "number", "amount", "issued_on", "due_on"}


class TestListInvoices:
    def test_it_filters_by_customer_external_id(self, api, customer):
        InvoiceFactory(customer=customer, number="MINE")
        InvoiceFactory(number="OTHER")
        response = api.get(f"{URL}?customer=CRM-1")
        assert [row["number"] for row in response.json()["results"]] == ["MINE"]
        assert response.json()["results"][0]["amount"] == "1000.00"


def rows(count: int, customer: str = "CRM-1") -> list[dict]:
    return [body(customer=customer, number=f"B-{n}") for n in range(count)]


class TestBulkInvoices:
    def test_it_creates_new_and_updates_existing_invoices(self, api, customer):
        InvoiceFactory(customer=customer, number="B-1", amount=Decimal("1.00"))
        response = api.post(BULK_URL, rows(3), format="json")
        assert response.status_code == 200
        assert response.json() == {"created": 2, "updated": 1}
        assert set(Invoice.objects.values_list("amount", flat=True)) == {Decimal("1500.00")}

    def test_tiers_are_recomputed_once_the_import_commits(self, api, customer, django_capture_on_commit_callbacks):
        today = date.today().isoformat()
        payload = [body(number=f"T-{n}", issued_on=today, due_on=today) for n in range(3)]
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            api.post(BULK_URL, payload, format="json")
        assert len(callbacks) == 1
        customer.refresh_from_db()
        assert customer.revenue_12m == Decimal("4500.00")

    def test_one_bad_row_is_named_and_nothing_is_written(self, api, customer):
        InvoiceFactory(customer=customer, number="B-0", amount=Decimal("1.00"))
        payload = rows(4)
        payload[2]["amount"] = "-1"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"2": {"amount": ["Ensure this value is greater than or equal to 0."]}}
        assert list(Invoice.objects.values_list("amount", flat=True)) == [Decimal("1.00")]

    def test_a_due_date_before_the_issue_date_is_named_with_its_row(self, api, customer):
        payload = rows(2)
        payload[1].update(issued_on="2026-03-01", due_on="2026-01-01")
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"1": {"due_on": ["Must be on or after issued_on (2026-03-01)."]}}
        assert not Invoice.objects.exists()

    def test_an_unknown_customer_is_named_with_its_row(self, api, customer):
        payload = rows(3)
        payload[1]["customer"] = "CRM-404"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"1": {"customer": ['No customer with external ID "CRM-404".']}}
        assert Customer.objects.count() == 1
        assert not Invoice.objects.exists()

    def test_a_repeated_invoice_number_is_named_with_its_row(self, api, customer):
        payload = rows(3)
        payload[2]["number"] = "B-0"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "2": {"number": ["Repeats row 0: each invoice number may appear once per customer and request."]}
        }
        assert not Invoice.objects.exists()

    def test_the_same_number_for_two_customers_is_no_repeat(self, api, customer):
        CustomerFactory(external_id="CRM-2")
        response = api.post(BULK_URL, [*rows(1), *rows(1, customer="CRM-2")], format="json")
        assert response.json() == {"created": 2, "updated": 0}

    def test_it_rejects_more_than_a_thousand_rows(self, api, customer):
        response = api.post(BULK_URL, rows(1001), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["non_field_errors"]
        assert not Invoice.objects.exists()

    @pytest.mark.parametrize("count", [10, 500])
    def test_it_writes_in_the_same_few_queries_for_10_or_500_rows(
        self, api, customer, count, django_assert_max_num_queries
    ):
        CustomerFactory(external_id="CRM-2")
        payload = [row | {"customer": ("CRM-1", "CRM-2")[n % 2]} for n, row in enumerate(rows(count))]
        # Token and the owner's other tokens; customers; savepoint; existing invoices;
        # the inserts; their customers marked unmeasured until their recompute runs;
        # savepoint release.
        with django_assert_max_num_queries(7 + insert_statements(Invoice, count)):
            response = api.post(BULK_URL, payload, format="json")
        assert response.json() == {"created": count, "updated": 0}

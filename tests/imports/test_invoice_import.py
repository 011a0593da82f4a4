from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Customer, Invoice
from customers.services import InvoiceData, upsert_invoices
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def row(customer, number, amount="100.00", paid_on=None) -> InvoiceData:
    today = date.today()
    return InvoiceData(
        customer_id=customer.pk, number=number, amount=Decimal(amount),
        issued_on=today, due_on=today, paid_on=paid_on,
    )


class TestUpsertInvoices:
    def test_it_creates_new_and_updates_existing_by_customer_and_number(self):
        customer = CustomerFactory()
        InvoiceFactory(customer=customer, number="A-1", amount=Decimal("5.00"))
        result = upsert_invoices(invoices=[row(customer, "A-1", "50.00"), row(customer, "A-2", "70.00")])
        assert (result.created, result.updated) == (1, 1)
        assert dict(Invoice.objects.values_list("number", "amount")) == {
            "A-1": Decimal("50.00"), "A-2": Decimal("70.00"),
        }

    def test_the_same_number_at_two_customers_is_two_invoices(self):
        first, second = CustomerFactory.create_batch(2)
        result = upsert_invoices(invoices=[row(first, "N-1"), row(second, "N-1")])
        assert (result.created, result.updated) == (2, 0)

    def test_tiers_are_recomputed_once_the_import_commits(self, django_capture_on_commit_callbacks):
        big, small = CustomerFactory.create_batch(2)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            upsert_invoices(invoices=[row(big, "B-1", "800.00"), row(small, "S-1", "200.00")])
        assert len(callbacks) == 1
        assert dict(Customer.objects.values_list("pk", "tier")) == {big.pk: 1, small.pk: 2}

    def test_it_writes_in_a_constant_number_of_queries(self, django_assert_max_num_queries):
        customer = CustomerFactory()
        rows = [row(customer, f"Q-{n}") for n in range(150)]
        with django_assert_max_num_queries(5):
            upsert_invoices(invoices=rows)
        assert Invoice.objects.count() == 150

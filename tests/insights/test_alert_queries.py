from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from customers.services import recompute_value_metrics
from insights.alerts.queries import invoice_summary
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


class TestInvoiceSummary:
    def test_its_twelve_months_are_the_revenue_metrics_twelve_months_in_a_leap_year(self):
        # 366 days before 31 December 2024 is 31 December 2023: "today minus 365 days"
        # would drop the invoice of 1 January 2024 that the customer's revenue counts.
        today = date(2024, 12, 31)
        customer = CustomerFactory()
        InvoiceFactory(customer=customer, amount=Decimal("100"), issued_on=date(2024, 1, 1), due_on=date(2024, 1, 31))
        InvoiceFactory(customer=customer, amount=Decimal("900"), issued_on=date(2023, 12, 31), due_on=date(2024, 1, 31))
        recompute_value_metrics(as_of=today)
        customer.refresh_from_db()
        summary = invoice_summary(customer=customer, today=today)
        assert (summary.count, summary.total) == (1, Decimal("100"))
        assert summary.total == customer.revenue_12m

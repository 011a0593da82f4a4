"""The nightly recompute reads only the customers the calendar moved since the last
night, every write of invoices recomputes its customers then, and together they leave
every customer as a full recompute of the same day would."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer, Invoice, MetricsDay
from customers.services import (
    InvoiceData,
    delete_invoices,
    recompute_value_metrics,
    recompute_value_metrics_nightly,
    save_invoice,
    upsert_customer,
    upsert_invoices,
)
from customers.value import trailing_year_start
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 15)


def figures(customer: Customer) -> tuple:
    customer = Customer.objects.get(pk=customer.pk)
    return (customer.revenue_12m, customer.on_time_rate, customer.overdue_invoices, customer.tier)


def invoice(customer, *, amount="100.00", issued_on, due_in=30, paid_on=None) -> Invoice:
    return InvoiceFactory(
        customer=customer, amount=Decimal(amount), issued_on=issued_on,
        due_on=issued_on + timedelta(days=due_in), paid_on=paid_on,
    )


def written_by_the_worker():
    """The write's on-commit task runs, as a worker would run it (Celery is eager in
    tests). Once per test: the test's transaction never commits, so a second identical
    task would be taken for the first one, still waiting for the commit."""
    return TestCase.captureOnCommitCallbacks(execute=True)


class TestNights:
    def test_the_first_night_reads_every_customer(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=10), paid_on=AS_OF)
        night = recompute_value_metrics_nightly(as_of=AS_OF)
        assert night.full
        assert figures(customer)[0] == Decimal("100.00")
        assert MetricsDay.objects.get().as_of == MetricsDay.objects.get().full_as_of == AS_OF

    def test_an_invoice_leaving_the_window_lowers_revenue_on_the_night_it_leaves(self):
        customer, other = CustomerFactory.create_batch(2)
        # In the 12 months ending on AS_OF + 1, out of those ending on AS_OF + 2.
        invoice(customer, amount="80.00", issued_on=trailing_year_start(AS_OF) + timedelta(days=2), paid_on=AS_OF)
        invoice(customer, amount="20.00", issued_on=AS_OF - timedelta(days=5), paid_on=AS_OF)
        invoice(other, amount="50.00", issued_on=AS_OF - timedelta(days=5), paid_on=AS_OF)
        recompute_value_metrics(as_of=AS_OF)
        night = recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=1))
        assert (night.full, night.read) == (False, 0)
        assert figures(customer)[0] == Decimal("100.00")
        night = recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=2))
        assert night.read == 1
        assert figures(customer)[0] == Decimal("20.00")
        # The customer moved below the other one: both tiers follow.
        assert (figures(customer)[3], figures(other)[3]) == (2, 1)

    def test_an_unpaid_invoice_falling_due_is_read_the_night_after_its_due_date(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=29), due_in=30)  # due on AS_OF + 1
        recompute_value_metrics(as_of=AS_OF)
        assert recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=1)).read == 0
        assert recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=2)).read == 1
        assert figures(customer)[1:3] == (0.0, 1)

    def test_a_missed_night_is_caught_up_by_the_next(self):
        leaving, falling_due, still = CustomerFactory.create_batch(3)
        invoice(leaving, issued_on=trailing_year_start(AS_OF) + timedelta(days=1), paid_on=AS_OF)
        invoice(falling_due, issued_on=AS_OF - timedelta(days=30), due_in=30)  # due on AS_OF
        invoice(still, issued_on=AS_OF - timedelta(days=3), paid_on=AS_OF)
        recompute_value_metrics(as_of=AS_OF)
        night = recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=3))  # two nights missed
        assert (night.full, night.since, night.read) == (False, AS_OF, 2)
        assert recompute_value_metrics(as_of=AS_OF + timedelta(days=3)) == 0
        assert figures(leaving)[0] == Decimal("0")
        assert figures(falling_due)[2] == 1

    def test_every_customer_is_read_a_week_after_the_last_full_recompute(self):
        CustomerFactory()
        recompute_value_metrics(as_of=AS_OF)
        assert not recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=6)).full
        assert recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=7)).full
        assert MetricsDay.objects.get().full_as_of == AS_OF + timedelta(days=7)

    def test_every_customer_is_read_when_the_stored_day_is_after_the_night(self):
        recompute_value_metrics(as_of=AS_OF)
        assert recompute_value_metrics_nightly(as_of=AS_OF - timedelta(days=1)).full

    def test_a_customer_never_measured_is_read_by_the_next_night(self):
        recompute_value_metrics(as_of=AS_OF)
        customer = CustomerFactory()  # written in SQL: no task recomputed it
        invoice(customer, issued_on=AS_OF - timedelta(days=10), paid_on=AS_OF)
        assert recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=1)).read == 1
        assert figures(customer)[0] == Decimal("100.00")

    def test_a_write_whose_recompute_was_never_run_is_read_by_the_next_night(self):
        # The broker was down when the import committed: its task was never published
        # (core.queue logs it and leaves it to a sweep), and nothing else moves this
        # customer before the weekly full recompute.
        today = timezone.localdate()
        customer = CustomerFactory()
        recompute_value_metrics(as_of=today)
        upsert_invoices(invoices=[InvoiceData(
            customer_id=customer.pk, number="N-1", amount=Decimal("700.00"), issued_on=today - timedelta(days=3),
            due_on=today + timedelta(days=27), paid_on=today,
        )])  # its on-commit task never runs: the test's transaction never commits
        assert recompute_value_metrics_nightly(as_of=today + timedelta(days=1)).read == 1
        assert figures(customer)[0] == Decimal("700.00")

    def test_the_night_ranks_every_tier_again_from_the_stored_revenues(self):
        big, small = CustomerFactory.create_batch(2)
        invoice(big, amount="900.00", issued_on=AS_OF - timedelta(days=10), paid_on=AS_OF)
        invoice(small, amount="100.00", issued_on=AS_OF - timedelta(days=10), paid_on=AS_OF)
        recompute_value_metrics(as_of=AS_OF)
        Customer.objects.filter(pk=big.pk).update(is_active=False)  # no task asked for
        recompute_value_metrics_nightly(as_of=AS_OF + timedelta(days=1))
        assert (figures(big)[3], figures(small)[3]) == (None, 1)


class TestWritesRecomputeTheirCustomers:
    """Writes made today, recomputed as of today once they commit."""

    def test_an_invoice_import_recomputes_its_customers_and_the_tiers(self):
        today = timezone.localdate()
        big, small = CustomerFactory.create_batch(2)
        invoice(big, amount="500.00", issued_on=today - timedelta(days=10), paid_on=today)
        recompute_value_metrics(as_of=today)
        with written_by_the_worker():
            upsert_invoices(invoices=[InvoiceData(
                customer_id=small.pk, number="N-1", amount=Decimal("5000.00"), issued_on=today, due_on=today,
            )])
        assert figures(small)[0::3] == (Decimal("5000.00"), 1)
        assert figures(big)[3] == 3

    def test_an_invoice_moved_to_another_customer_recomputes_both(self):
        today = timezone.localdate()
        first, second = CustomerFactory.create_batch(2)
        moved = invoice(first, issued_on=today - timedelta(days=10), paid_on=today)
        recompute_value_metrics(as_of=today)
        moved.customer = second
        with written_by_the_worker():
            save_invoice(invoice=moved)
        assert (figures(first)[0], figures(second)[0]) == (Decimal("0"), Decimal("100.00"))

    def test_deleted_invoices_recompute_their_customer(self):
        today = timezone.localdate()
        customer = CustomerFactory()
        invoice(customer, issued_on=today - timedelta(days=10), paid_on=today)
        recompute_value_metrics(as_of=today)
        with written_by_the_worker():
            delete_invoices(invoices=Invoice.objects.filter(customer=customer))
        assert figures(customer)[0] == Decimal("0")

    def test_a_cost_to_serve_changed_recomputes_the_net_value(self):
        today = timezone.localdate()
        customer = CustomerFactory(cost_to_serve=None)
        invoice(customer, issued_on=today - timedelta(days=10), paid_on=today)
        recompute_value_metrics(as_of=today)
        with written_by_the_worker():
            upsert_customer(external_id=customer.external_id, name=customer.name, cost_to_serve=Decimal("30.00"))
        assert Customer.objects.get(pk=customer.pk).net_value == Decimal("70.00")


class TestRecomputeTiersCommand:
    def test_it_says_which_recompute_ran(self):
        CustomerFactory()
        out = io.StringIO()
        call_command("recompute_tiers", as_of=AS_OF.isoformat(), full=True, stdout=out)
        call_command("recompute_tiers", as_of=(AS_OF + timedelta(days=1)).isoformat(), stdout=out)
        assert "Full recompute: 1 customers changed." in out.getvalue()
        assert f"Nightly recompute (since {AS_OF}, 0 customers read): 0 customers changed." in out.getvalue()


# One day's writes, through the services an import, the API and the admin use.
write = st.one_of(
    st.fixed_dictionaries({
        "kind": st.just("issue"),
        "customer": st.integers(min_value=0, max_value=3),
        "issued_days_ago": st.integers(min_value=-5, max_value=400),
        "due_in": st.integers(min_value=0, max_value=10),
        "paid": st.booleans(),
        "amount": st.integers(min_value=0, max_value=5000),
    }),
    st.fixed_dictionaries({"kind": st.just("pay"), "which": st.integers(min_value=0, max_value=50)}),
    st.fixed_dictionaries({"kind": st.just("delete"), "which": st.integers(min_value=0, max_value=50)}),
)


# Committed for real, each write's task running once it commits, as in production.
@pytest.mark.django_db(transaction=True)
class TestNightsAgreeWithTheFullRecompute:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        days=st.lists(
            st.tuples(st.lists(write, max_size=4), st.integers(min_value=1, max_value=3)), min_size=1, max_size=4
        ),
    )
    def test_nights_with_writes_in_between_leave_every_customer_as_a_full_recompute(self, days):
        Customer.objects.all().delete()
        MetricsDay.objects.all().delete()
        customers = CustomerFactory.create_batch(4)
        day = timezone.localdate()
        recompute_value_metrics(as_of=day)
        for writes, nights_later in days:
            for number, drawn in enumerate(writes):
                apply(drawn, customers, day=day, number=f"{day}-{number}")
            day += timedelta(days=nights_later)
            assert not recompute_value_metrics_nightly(as_of=day).full
            assert recompute_value_metrics(as_of=day) == 0


def apply(drawn: dict, customers: list[Customer], *, day: date, number: str) -> None:
    invoices = list(Invoice.objects.order_by("pk"))
    if drawn["kind"] == "issue":
        issued_on = day - timedelta(days=drawn["issued_days_ago"])
        due_on = issued_on + timedelta(days=drawn["due_in"])
        data = InvoiceData(
            customer_id=customers[drawn["customer"]].pk, number=number, amount=Decimal(drawn["amount"]),
            issued_on=issued_on, due_on=due_on, paid_on=due_on if drawn["paid"] else None,
        )
        upsert_invoices(invoices=[data])
    elif invoices and drawn["kind"] == "pay":
        paid = invoices[drawn["which"] % len(invoices)]
        upsert_invoices(invoices=[InvoiceData(
            customer_id=paid.customer_id, number=paid.number, amount=paid.amount, issued_on=paid.issued_on,
            due_on=paid.due_on, paid_on=day,
        )])
    elif invoices:
        delete_invoices(invoices=Invoice.objects.filter(pk=invoices[drawn["which"] % len(invoices)].pk))

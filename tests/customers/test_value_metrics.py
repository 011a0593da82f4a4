from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer, Invoice
from customers.services import recompute_value_metrics
from customers.value import avg_days_late_on, trailing_year_start
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 15)


def recomputed(customer: Customer) -> Customer:
    recompute_value_metrics(as_of=AS_OF)
    return Customer.objects.get(pk=customer.pk)


def invoice(customer, *, amount="100.00", issued_on=AS_OF - timedelta(days=60), due_in=30, paid_after=None):
    due_on = issued_on + timedelta(days=due_in)
    paid_on = None if paid_after is None else due_on + timedelta(days=paid_after)
    return InvoiceFactory(
        customer=customer, amount=Decimal(amount), issued_on=issued_on, due_on=due_on, paid_on=paid_on
    )


class TestTrailingWindow:
    def test_window_starts_one_year_before(self):
        assert trailing_year_start(date(2026, 6, 15)) == date(2025, 6, 15)

    def test_leap_day_maps_to_last_day_of_february(self):
        assert trailing_year_start(date(2028, 2, 29)) == date(2027, 2, 28)


class TestRevenue:
    def test_it_sums_invoices_of_the_trailing_twelve_months(self):
        customer = CustomerFactory()
        invoice(customer, amount="100.00", issued_on=date(2026, 1, 10), paid_after=0)
        invoice(customer, amount="250.50", issued_on=date(2025, 9, 1), paid_after=0)
        assert recomputed(customer).revenue_12m == Decimal("350.50")

    def test_an_invoice_issued_exactly_a_year_ago_is_outside_the_window(self):
        customer = CustomerFactory()
        invoice(customer, amount="100.00", issued_on=date(2025, 6, 15), paid_after=0)
        invoice(customer, amount="7.00", issued_on=date(2025, 6, 16), paid_after=0)
        assert recomputed(customer).revenue_12m == Decimal("7.00")

    def test_an_invoice_issued_on_the_day_counts_and_a_future_one_does_not(self):
        customer = CustomerFactory()
        invoice(customer, amount="10.00", issued_on=AS_OF)
        invoice(customer, amount="99.00", issued_on=AS_OF + timedelta(days=1))
        assert recomputed(customer).revenue_12m == Decimal("10.00")

    def test_unpaid_invoices_count_as_revenue(self):
        customer = CustomerFactory()
        invoice(customer, amount="400.00", paid_after=None)
        assert recomputed(customer).revenue_12m == Decimal("400.00")

    def test_a_customer_without_invoices_has_zero_revenue_and_no_punctuality(self):
        customer = recomputed(CustomerFactory(cost_to_serve=Decimal("50.00")))
        assert customer.revenue_12m == Decimal("0")
        assert customer.net_value == Decimal("-50.00")
        assert customer.on_time_rate is None
        assert customer.avg_days_late_on(AS_OF) is None
        assert customer.metrics_updated_at is not None

    def test_old_invoices_no_longer_count_after_they_leave_the_window(self):
        customer = CustomerFactory()
        invoice(customer, amount="100.00", issued_on=date(2024, 1, 1), paid_after=0)
        customer = recomputed(customer)
        assert customer.revenue_12m == Decimal("0")
        assert customer.on_time_rate is None


class TestNetValue:
    def test_net_value_is_revenue_minus_cost_to_serve(self):
        customer = CustomerFactory(cost_to_serve=Decimal("120.25"))
        invoice(customer, amount="1000.00", paid_after=0)
        assert recomputed(customer).net_value == Decimal("879.75")

    def test_no_cost_to_serve_means_net_value_equals_revenue(self):
        customer = CustomerFactory(cost_to_serve=None)
        invoice(customer, amount="1000.00", paid_after=0)
        assert recomputed(customer).net_value == Decimal("1000.00")


class TestPunctuality:
    def test_paid_on_the_due_date_is_on_time(self):
        customer = CustomerFactory()
        invoice(customer, paid_after=0)
        customer = recomputed(customer)
        assert customer.on_time_rate == 1.0
        assert customer.avg_days_late_on(AS_OF) == 0.0

    def test_paid_early_is_on_time_and_not_negative_lateness(self):
        customer = CustomerFactory()
        invoice(customer, paid_after=-10)
        customer = recomputed(customer)
        assert customer.on_time_rate == 1.0
        assert customer.avg_days_late_on(AS_OF) == 0.0

    def test_late_payments_lower_the_rate_and_raise_the_average(self):
        customer = CustomerFactory()
        invoice(customer, paid_after=0)
        invoice(customer, paid_after=10)
        invoice(customer, paid_after=20)
        invoice(customer, paid_after=-3)
        customer = recomputed(customer)
        assert customer.on_time_rate == pytest.approx(0.5)
        assert customer.avg_days_late_on(AS_OF) == pytest.approx(7.5)

    def test_an_unpaid_invoice_past_due_is_late_by_the_days_so_far(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=40), due_in=30)  # due 10 days ago
        customer = recomputed(customer)
        assert customer.on_time_rate == 0.0
        assert customer.avg_days_late_on(AS_OF) == 10.0

    def test_an_unpaid_invoice_not_yet_due_does_not_count_either_way(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=5), due_in=30)
        invoice(customer, paid_after=4)
        customer = recomputed(customer)
        assert customer.on_time_rate == 0.0
        assert customer.avg_days_late_on(AS_OF) == 4.0

    def test_an_unpaid_invoice_due_today_is_not_late_yet(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=30), due_in=30)
        customer = recomputed(customer)
        assert customer.on_time_rate is None

    def test_invoice_days_late_matches_the_database(self):
        customer = CustomerFactory()
        unpaid = invoice(customer, issued_on=AS_OF - timedelta(days=45), due_in=30)
        assert unpaid.days_late(AS_OF) == 15
        assert recomputed(customer).avg_days_late_on(AS_OF) == 15.0


class TestRecompute:
    def test_it_updates_every_customer_in_a_handful_of_queries(self, django_assert_max_num_queries):
        customers = CustomerFactory.create_batch(20)
        for customer in customers:
            invoice(customer, paid_after=1)
        # The stored day made and locked, the metrics, the tiers read and written, the
        # day saved, and insights' counts following the customers.
        with django_assert_max_num_queries(11):
            assert recompute_value_metrics(as_of=AS_OF) == 20

    def test_a_second_recompute_with_nothing_changed_writes_no_customer(self):
        customer = CustomerFactory()
        invoice(customer, paid_after=1)
        recompute_value_metrics(as_of=AS_OF)
        measured_at = Customer.objects.get(pk=customer.pk).metrics_updated_at
        assert recompute_value_metrics(as_of=AS_OF) == 0
        assert Customer.objects.get(pk=customer.pk).metrics_updated_at == measured_at

    def test_only_customers_whose_figures_moved_are_written_again(self):
        still, moved = CustomerFactory.create_batch(2)
        invoice(still, paid_after=0)
        invoice(moved, issued_on=AS_OF - timedelta(days=400), paid_after=0)
        recompute_value_metrics(as_of=AS_OF)
        invoice(moved, amount="50.00", paid_after=0)
        assert recompute_value_metrics(as_of=AS_OF) == 1
        assert Customer.objects.get(pk=moved.pk).revenue_12m == Decimal("50.00")

    def test_a_customer_turned_inactive_loses_its_tier_and_the_others_are_ranked_without_it(self):
        big, small = CustomerFactory.create_batch(2)
        invoice(big, amount="900.00", paid_after=0)
        invoice(small, amount="100.00", paid_after=0)
        recompute_value_metrics(as_of=AS_OF)
        assert Customer.objects.get(pk=small.pk).tier == 3
        Customer.objects.filter(pk=big.pk).update(is_active=False)
        recompute_value_metrics(as_of=AS_OF)
        assert Customer.objects.get(pk=big.pk).tier is None
        assert Customer.objects.get(pk=small.pk).tier == 1


# The average days late as it was defined before it was kept in parts: one figure over
# the invoices of the window whose outcome is known, as of the day it was computed.
def reference_on_time_rate_and_days_late(invoices: list[Invoice], as_of: date) -> tuple[float | None, float | None]:
    start = trailing_year_start(as_of)
    decided = [
        invoice for invoice in invoices
        if start < invoice.issued_on <= as_of and (invoice.paid_on is not None or invoice.due_on < as_of)
    ]
    if not decided:
        return None, None
    on_time = sum(1 for invoice in decided if invoice.paid_on is not None and invoice.paid_on <= invoice.due_on)
    return on_time / len(decided), sum(invoice.days_late(as_of) for invoice in decided) / len(decided)


def reference_parts(invoices: list[Invoice], as_of: date) -> tuple:
    """What the recompute stores for a customer's invoices as of a day, lateness aside:
    revenue, on-time rate, and which invoices count and which are overdue."""
    start = trailing_year_start(as_of)
    window = [invoice for invoice in invoices if start < invoice.issued_on <= as_of]
    overdue = {invoice.pk for invoice in window if invoice.paid_on is None and invoice.due_on < as_of}
    paid = {invoice.pk for invoice in window if invoice.paid_on is not None}
    return sum(invoice.amount for invoice in window), paid, overdue


invoice_drawn = st.fixed_dictionaries({
    "issued_days_ago": st.integers(min_value=-10, max_value=420),
    "due_in": st.integers(min_value=0, max_value=60),
    # None: unpaid; else paid this many days after the due date (negative: early).
    "paid_after": st.none() | st.integers(min_value=-20, max_value=90),
    "amount": st.integers(min_value=0, max_value=5000),
})


class TestLatenessKeptInParts:
    def test_an_overdue_invoice_grows_later_each_day_without_being_written(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=40), due_in=30)  # due 10 days before AS_OF
        customer = recomputed(customer)
        assert recompute_value_metrics(as_of=AS_OF + timedelta(days=1)) == 0
        assert customer.avg_days_late_on(AS_OF) == 10.0
        assert customer.avg_days_late_on(AS_OF + timedelta(days=5)) == 15.0

    def test_an_invoice_falling_due_is_written_the_night_after_its_due_date(self):
        customer = CustomerFactory()
        invoice(customer, issued_on=AS_OF - timedelta(days=30), due_in=30)  # due on AS_OF: not late yet
        assert recomputed(customer).on_time_rate is None
        assert recompute_value_metrics(as_of=AS_OF + timedelta(days=1)) == 1
        customer = Customer.objects.get(pk=customer.pk)
        assert (customer.on_time_rate, customer.avg_days_late_on(AS_OF + timedelta(days=1))) == (0.0, 1.0)

    def test_a_payment_moves_the_parts_and_stops_the_lateness_growing(self):
        customer = CustomerFactory()
        unpaid = invoice(customer, issued_on=AS_OF - timedelta(days=40), due_in=30)
        recomputed(customer)
        unpaid.paid_on = AS_OF - timedelta(days=2)  # 8 days late
        unpaid.save()
        assert recompute_value_metrics(as_of=AS_OF + timedelta(days=1)) == 1
        customer = Customer.objects.get(pk=customer.pk)
        assert customer.avg_days_late_on(AS_OF + timedelta(days=30)) == 8.0

    def test_the_customer_and_the_sql_read_the_average_as_of_today(self):
        today = timezone.localdate()
        customer = CustomerFactory()
        invoice(customer, issued_on=today - timedelta(days=50), due_in=30)  # 20 days late today
        invoice(customer, issued_on=today - timedelta(days=60), due_in=30, paid_after=5)
        recompute_value_metrics(as_of=today - timedelta(days=7))  # a week without a recompute
        customer = Customer.objects.get(pk=customer.pk)
        in_sql = Customer.objects.annotate(days_late=avg_days_late_on(today)).get(pk=customer.pk).days_late
        assert customer.avg_days_late == in_sql == 12.5

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        portfolios=st.lists(st.lists(invoice_drawn, max_size=6), min_size=1, max_size=4),
        nights=st.integers(min_value=0, max_value=40),
    )
    def test_the_parts_give_what_the_old_nightly_figure_said_and_only_moved_customers_are_written(
        self, portfolios, nights
    ):
        Customer.objects.all().delete()
        invoices = {}
        for drawn in portfolios:
            customer = CustomerFactory()
            invoices[customer.pk] = [
                invoice(
                    customer, amount=str(row["amount"]), issued_on=AS_OF - timedelta(days=row["issued_days_ago"]),
                    due_in=row["due_in"], paid_after=row["paid_after"],
                )
                for row in drawn
            ]
        later = AS_OF + timedelta(days=nights)
        recompute_value_metrics(as_of=AS_OF)
        before = {customer.pk: customer for customer in Customer.objects.all()}
        recompute_value_metrics(as_of=later)
        for customer in Customer.objects.annotate(days_late=avg_days_late_on(later)):
            on_time_rate, days_late = reference_on_time_rate_and_days_late(invoices[customer.pk], later)
            assert (customer.on_time_rate, customer.avg_days_late_on(later), customer.days_late) == (
                on_time_rate, days_late, days_late
            )
            unmoved = reference_parts(invoices[customer.pk], AS_OF) == reference_parts(invoices[customer.pk], later)
            if unmoved and customer.tier == before[customer.pk].tier:
                assert customer.metrics_updated_at == before[customer.pk].metrics_updated_at

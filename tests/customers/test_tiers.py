from __future__ import annotations

import io
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from customers.services import recompute_value_metrics
from tests.factories import CustomerFactory, InvoiceFactory

AS_OF = date(2026, 6, 15)
THRESHOLDS = (70, 90, 97)


def d(*values) -> list[Decimal]:
    return [Decimal(str(value)) for value in values]


# The Pareto rule in plain Python: the reference the SQL in customers.services is checked
# against on random portfolios. The product cuts tiers only in SQL.
def reference_tier_for_share(share_before: Decimal, thresholds: Sequence[int]) -> int:
    """The tier of a customer whose higher-revenue peers already make up
    `share_before` percent of all revenue.

    Tier 1 is the smallest set of customers that reaches the first threshold (70%):
    a customer belongs to it while the revenue ranked above it is still short of it.
    """
    for tier, threshold in enumerate(thresholds, start=1):
        if share_before < threshold:
            return tier
    return len(thresholds) + 1


def reference_tiers(revenues: Sequence[Decimal], thresholds: Sequence[int]) -> list[int]:
    """Tiers for revenues sorted from largest to smallest.

    Customers with equal revenue share one tier (the higher one); customers
    without revenue, and everyone when there is no revenue at all, are in the last tier.
    """
    last_tier = len(thresholds) + 1
    total = sum(revenues, Decimal("0"))
    tiers: list[int] = []
    before = Decimal("0")
    for revenue, peers in groupby(revenues):
        count = len(list(peers))
        if total <= 0 or revenue <= 0:
            tier = last_tier
        else:
            tier = reference_tier_for_share(before * 100 / total, thresholds)
        tiers.extend([tier] * count)
        before += revenue * count
    return tiers


@pytest.mark.django_db
class TestTiersInTheDatabase:
    def customers_with_revenue(self, *amounts) -> list[Customer]:
        customers = []
        for amount in amounts:
            customer = CustomerFactory()
            if amount:
                InvoiceFactory(
                    customer=customer,
                    amount=Decimal(str(amount)),
                    issued_on=AS_OF - timedelta(days=30),
                    due_on=AS_OF,
                    paid_on=AS_OF,
                )
            customers.append(customer)
        return customers

    def tiers(self, customers: list[Customer]) -> list[int | None]:
        by_pk = dict(Customer.objects.values_list("pk", "tier"))
        return [by_pk[customer.pk] for customer in customers]

    def test_a_customer_is_tier_one_while_the_revenue_above_is_short_of_seventy_percent(self):
        just_short = self.customers_with_revenue(6999, 2001, 700, 300)  # 69.99% above the second
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(just_short) == [1, 1, 3, 4]

    def test_a_customer_with_seventy_percent_above_is_tier_two(self):
        exactly = self.customers_with_revenue(7000, 2000, 700, 300)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(exactly) == [1, 2, 3, 4]

    def test_tier_one_is_the_smallest_set_reaching_seventy_percent(self):
        customers = self.customers_with_revenue(60, 20, 10, 5, 5)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 1, 2, 3, 3]

    def test_equal_revenues_share_the_higher_tier(self):
        customers = self.customers_with_revenue(50, 25, 25)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 1, 1]

    def test_customers_without_revenue_are_in_the_last_tier(self):
        customers = self.customers_with_revenue(100, 0, 0)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 4, 4]

    def test_wider_thresholds_move_the_boundaries(self):
        customers = self.customers_with_revenue(50, 30, 15, 5)
        recompute_value_metrics(as_of=AS_OF, thresholds=(90, 95, 99))
        assert self.tiers(customers) == [1, 1, 1, 3]

    def test_tiers_follow_the_pareto_rule(self):
        customers = self.customers_with_revenue(6000, 1500, 1000, 700, 500, 300)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 1, 2, 2, 3, 4]

    def test_ties_at_a_boundary_share_a_tier(self):
        customers = self.customers_with_revenue(350, 350, 200, 100)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 1, 2, 3]

    def test_a_single_customer_is_tier_one(self):
        customers = self.customers_with_revenue(10)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1]

    def test_zero_revenue_customers_are_tier_four_even_when_nobody_has_revenue(self):
        customers = self.customers_with_revenue(0, 0)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [4, 4]

    def test_inactive_customers_have_no_tier_and_do_not_count(self):
        big_but_inactive, *customers = self.customers_with_revenue(10_000, 80, 20)
        Customer.objects.filter(pk=big_but_inactive.pk).update(is_active=False, tier=1)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers([big_but_inactive, *customers]) == [None, 1, 2]

    def test_thresholds_come_from_settings(self, settings):
        settings.VALUEPULSE_TIER_THRESHOLDS = (50, 80, 95)
        customers = self.customers_with_revenue(50, 30, 15, 5)
        recompute_value_metrics(as_of=AS_OF)
        assert self.tiers(customers) == [1, 2, 3, 4]

    def test_the_database_agrees_with_the_plain_rule_on_random_portfolios(self):
        rng = random.Random(7)
        amounts = [rng.choice([0, 5, 5, 10, 50, 100, 100, 2500, rng.randint(1, 9999)]) for _ in range(120)]
        customers = self.customers_with_revenue(*amounts)
        recompute_value_metrics(as_of=AS_OF)
        ordered = sorted(zip(amounts, self.tiers(customers)), key=lambda pair: -pair[0])
        expected = reference_tiers(d(*(amount for amount, _ in ordered)), THRESHOLDS)
        assert [tier for _, tier in ordered] == expected


    def test_inactive_customers_with_the_same_revenue_as_active_ones_change_no_tier(self):
        """Active and inactive customers are ranked together: an inactive peer must
        neither count in the revenue above nor split a group of equal revenues."""
        rng = random.Random(11)
        amounts = [rng.choice([0, 10, 100, 100, 2500, 2500, rng.randint(1, 9999)]) for _ in range(90)]
        customers = self.customers_with_revenue(*amounts)
        inactive = {customer.pk for customer in customers if rng.random() < 0.25}
        Customer.objects.filter(pk__in=inactive).update(is_active=False)
        recompute_value_metrics(as_of=AS_OF)
        active = sorted(
            ((amount, tier) for amount, tier, customer in zip(amounts, self.tiers(customers), customers)
             if customer.pk not in inactive),
            key=lambda pair: -pair[0],
        )
        assert [tier for _, tier in active] == reference_tiers(d(*(amount for amount, _ in active)), THRESHOLDS)
        assert {tier for tier, customer in zip(self.tiers(customers), customers) if customer.pk in inactive} == {None}


@pytest.mark.django_db
class TestRecomputeTiersCommand:
    def test_it_recomputes_and_reports_tier_counts(self):
        customer = CustomerFactory()
        InvoiceFactory(customer=customer, amount=Decimal("100"), issued_on=AS_OF, due_on=AS_OF, paid_on=None)
        out = io.StringIO()
        call_command("recompute_tiers", as_of=AS_OF.isoformat(), stdout=out)
        customer.refresh_from_db()
        assert customer.tier == 1
        assert customer.revenue_12m == Decimal("100")
        assert "Nightly recompute (every customer read): 1 customers changed." in out.getvalue()
        assert "Tier 1: 1" in out.getvalue()

    def test_it_rejects_a_malformed_date_naming_the_option(self):
        with pytest.raises(CommandError, match="--as-of"):
            call_command("recompute_tiers", as_of="15/06/2026", stdout=io.StringIO())

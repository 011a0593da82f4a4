from __future__ import annotations

import io
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from customers.services import recompute_value_metrics
from customers.value import assign_tiers, tier_for_share
from tests.factories import CustomerFactory, InvoiceFactory

AS_OF = date(2026, 6, 15)
THRESHOLDS = (70, 90, 97)


def d(*values) -> list[Decimal]:
    return [Decimal(str(value)) for value in values]


class TestTierRule:
    def test_a_customer_is_tier_one_while_the_revenue_above_is_short_of_seventy_percent(self):
        assert tier_for_share(Decimal("69.99"), THRESHOLDS) == 1
        assert tier_for_share(Decimal("70"), THRESHOLDS) == 2
        assert tier_for_share(Decimal("89.99"), THRESHOLDS) == 2
        assert tier_for_share(Decimal("90"), THRESHOLDS) == 3
        assert tier_for_share(Decimal("97"), THRESHOLDS) == 4

    def test_tier_one_is_the_smallest_set_reaching_seventy_percent(self):
        assert assign_tiers(d(70, 20, 7, 3), THRESHOLDS) == [1, 2, 3, 4]
        assert assign_tiers(d(60, 20, 10, 5, 5), THRESHOLDS) == [1, 1, 2, 3, 3]

    def test_equal_revenues_share_the_higher_tier(self):
        assert assign_tiers(d(35, 35, 20, 10), THRESHOLDS) == [1, 1, 2, 3]
        assert assign_tiers(d(50, 25, 25), THRESHOLDS) == [1, 1, 1]

    def test_a_single_customer_is_tier_one(self):
        assert assign_tiers(d(500), THRESHOLDS) == [1]

    def test_customers_without_revenue_are_in_the_last_tier(self):
        assert assign_tiers(d(100, 0, 0), THRESHOLDS) == [1, 4, 4]
        assert assign_tiers(d(0, 0), THRESHOLDS) == [4, 4]

    def test_changed_thresholds_move_the_boundaries(self):
        assert assign_tiers(d(50, 30, 15, 5), (50, 80, 95)) == [1, 2, 3, 4]
        assert assign_tiers(d(50, 30, 15, 5), (90, 95, 99)) == [1, 1, 1, 3]


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
        expected = assign_tiers(d(*(amount for amount, _ in ordered)), THRESHOLDS)
        assert [tier for _, tier in ordered] == expected


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
        assert "Recomputed value metrics for 1 customers" in out.getvalue()
        assert "Tier 1: 1" in out.getvalue()

    def test_it_rejects_a_malformed_date_naming_the_option(self):
        with pytest.raises(CommandError, match="--as-of"):
            call_command("recompute_tiers", as_of="15/06/2026", stdout=io.StringIO())

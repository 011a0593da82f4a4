"""What a customer is worth: the trailing window and Pareto tiers as plain rules.

The same rules run in SQL for every customer at once (customers.services);
these functions are their readable, directly testable definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import groupby
from decimal import Decimal

from django.db.models import Func, IntegerField


def trailing_year_start(as_of: date) -> date:
    """The exclusive start of the trailing 12 months ending on `as_of` (inclusive).

    An invoice issued exactly one year before `as_of` falls outside the window;
    one issued the day after falls inside. 29 February maps to 28 February.
    """
    try:
        return as_of.replace(year=as_of.year - 1)
    except ValueError:
        return as_of.replace(year=as_of.year - 1, day=28)


def tier_for_share(share_before: Decimal, thresholds: Sequence[int]) -> int:
    """The tier of a customer whose higher-revenue peers already make up
    `share_before` percent of all revenue.

    Tier 1 is the smallest set of customers that reaches the first threshold (70%):
    a customer belongs to it while the revenue ranked above it is still short of it.
    """
    for tier, threshold in enumerate(thresholds, start=1):
        if share_before < threshold:
            return tier
    return len(thresholds) + 1


def assign_tiers(revenues: Sequence[Decimal], thresholds: Sequence[int]) -> list[int]:
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
            tier = tier_for_share(before * 100 / total, thresholds)
        tiers.extend([tier] * count)
        before += revenue * count
    return tiers


class DaysBetween(Func):
    """Whole days from `earlier` to `later` (two dates) as an integer, in SQL."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        later, earlier = (compiler.compile(expression) for expression in self.source_expressions)
        # PostgreSQL: date - date is an integer number of days.
        return f"({later[0]} - {earlier[0]})", [*later[1], *earlier[1]]

    def as_sqlite(self, compiler, connection, **extra_context):
        later, earlier = (compiler.compile(expression) for expression in self.source_expressions)
        sql = f"CAST(julianday({later[0]}) - julianday({earlier[0]}) AS INTEGER)"
        return sql, [*later[1], *earlier[1]]

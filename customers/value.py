"""What a customer is worth: the trailing 12-month window, and whole days between two
dates in SQL. The Pareto tiers are cut in SQL for every customer at once
(customers.services._update_metrics_and_tiers); their rule is spelled out there.
"""

from __future__ import annotations

from datetime import date

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

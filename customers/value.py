"""What a customer is worth: the trailing 12-month window, the invoices the calendar
moves, a customer's figures as aggregates of its invoices, whole days between two dates
in SQL, and the average days late as of a day from the parts a customer keeps. The
Pareto tiers are cut in SQL for every customer at once (customers.services._update_tiers);
their rule is spelled out there.
"""

from __future__ import annotations

from datetime import date

from django.db.models import BigIntegerField, Count, Expression, F, FloatField, Func, IntegerField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf

# Due dates are added up as whole days since this day (Customer.overdue_due_days).
EPOCH = date(1970, 1, 1)


def trailing_year_start(as_of: date) -> date:
    """The exclusive start of the trailing 12 months ending on `as_of` (inclusive).

    An invoice issued exactly one year before `as_of` falls outside the window;
    one issued the day after falls inside. 29 February maps to 28 February.
    """
    try:
        return as_of.replace(year=as_of.year - 1)
    except ValueError:
        return as_of.replace(year=as_of.year - 1, day=28)


def in_trailing_year(as_of: date) -> Q:
    """Invoices issued in the trailing 12 months ending on `as_of`."""
    return Q(issued_on__gt=trailing_year_start(as_of), issued_on__lte=as_of)


def moved_by_calendar(since: date, as_of: date) -> Q:
    """Invoices whose part in their customer's figures (invoice_figures) can differ
    between the day `since` and the later day `as_of`, with no write in between: one
    entering the 12 months (issued in (since, as_of]), one leaving them (issued in
    (start(since), start(as_of)], the window's start moving with the days), one falling
    due unpaid (due in [since, as_of): overdue is due before the day). Nothing else in
    the figures moves with the calendar alone: a customer with none of these invoices
    has the same figures on both days."""
    return (
        Q(issued_on__gt=since, issued_on__lte=as_of)
        | Q(issued_on__gt=trailing_year_start(since), issued_on__lte=trailing_year_start(as_of))
        | Q(paid_on__isnull=True, due_on__gte=since, due_on__lt=as_of)
    )


def invoice_figures(as_of: date) -> dict[str, Expression]:
    """A customer's figures from its invoices of the trailing 12 months, as aggregates
    (a GROUP BY by customer): revenue (paid or not), on-time rate, and the parts of the
    average days late (Customer.avg_days_late_on). Punctuality looks at the invoices
    whose outcome is known: paid ones, and unpaid ones already past due (late until
    paid). None of these moves from one day to the next unless an invoice is paid, falls
    due, or enters or leaves the window."""
    overdue = Q(paid_on__isnull=True, due_on__lt=as_of)
    overdue_count = Count("pk", filter=overdue)
    decided_count = Count("paid_on") + overdue_count
    # Few conditions (each costs a pass over the row): an unpaid invoice's lateness is
    # NULL, which GREATEST skips on PostgreSQL (0) and SUM skips on SQLite.
    paid_late = Greatest(DaysBetween(F("paid_on"), F("due_on")), Value(0))
    return {
        "revenue": Sum("amount"),
        "on_time_rate": Cast(Count("pk", filter=Q(paid_on__lte=F("due_on"))), FloatField())
        / Cast(NullIf(decided_count, Value(0)), FloatField()),
        "decided_invoices": decided_count,
        "days_late_paid": Coalesce(Sum(paid_late), Value(0)),
        "overdue_invoices": overdue_count,
        "overdue_due_days": Coalesce(Sum(DaysBetween(F("due_on"), Value(EPOCH)), filter=overdue), Value(0)),
    }


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


def days_since_epoch(day: date) -> int:
    return (day - EPOCH).days


def avg_days_late_on(day: date) -> Expression:
    """Customer.avg_days_late_on(day) in SQL, for reads that stay in the database."""
    overdue_days = Cast("overdue_invoices", BigIntegerField()) * Value(days_since_epoch(day)) - F("overdue_due_days")
    late = Cast(F("days_late_paid") + overdue_days, FloatField())
    return late / Cast(NullIf("decided_invoices", Value(0)), FloatField())

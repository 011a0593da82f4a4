"""Active customers counted by their latest answer (LatestAnswerCount), so that "customers
by their latest answer" reads a few thousand counts whatever the number of customers
who answered (46,600 LatestAnswer rows joined to the customers at 1,000,000 answers,
against 896 at 10,000, was what grew).

Each LatestAnswer row of an active customer counts once in its day and once in its
month (in TIME_ZONE), under its survey key, band and the customer's tier and account
manager, with the customer's 12-month revenue. The figures read whole months and the
days of the months where the period and the 180-day window begin (figures.py).

The rows copy what they are counted under (tier, manager, revenue, active), so every
change is a difference of LatestAnswer rows, in the transaction that makes it:
    an answer saved: the rows it replaces out and itself in, as LatestAnswer's upsert
    will decide, just before it (rollups.py); a customer's rows recomputed: taken out,
    recomputed, put back in;
    a customer changed (saved, or announced by customers' signal `customers_changed`,
    as the nightly recompute and the bulk upsert do): the rows whose copy differs from the customer move to the customer's
    present keys, in two statements whatever their number;
    a deleted answer or customer: LatestAnswer's rows go by cascade, each taking itself
    out (`latest_answer_deleted`, from their post_delete).
`verify` (nightly, with LatestAnswer's) compares the counts and the copies with what
the customers and their latest answers say, and rebuilds on any difference.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import (
    CharField, Count, DateField, DecimalField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Sum, Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from customers.models import Customer
from surveys.models import Response

from ..models import ANY_SURVEY, LatestAnswer, LatestAnswerCount, LatestAnswerSpan

logger = logging.getLogger(__name__)

TABLE = LatestAnswerCount._meta.db_table
LATEST = LatestAnswer._meta.db_table
CUSTOMERS = Customer._meta.db_table
KEY = "span, start, survey_key, tier_key, manager_key, band"

# What a row is counted under: as copied on it, or as the customer stands now.
COPIED = {"tier": F("tier_key"), "manager": F("manager_key"), "revenue": F("revenue"), "active": Q(active=True)}
CURRENT = {
    "tier": Coalesce("customer__tier", 0),
    "manager": Coalesce("customer__account_manager", 0),
    "revenue": F("customer__revenue_12m"),
    "active": Q(customer__is_active=True),
}


def _counted(rows: QuerySet[LatestAnswer], *, under: dict, sign: int = 1) -> list[tuple[str, list]]:
    """The rows' counts by day and by month, each as SQL whose columns are KEY, then
    customers and revenue (times `sign`)."""
    spans = {
        LatestAnswerSpan.DAY: TruncDate("submitted_at"),
        LatestAnswerSpan.MONTH: Cast(TruncMonth(TruncDate("submitted_at")), DateField()),
    }
    selects = []
    for span, start in spans.items():
        grouped = (
            rows.filter(under["active"])
            .annotate(
                row_span=Value(span.value, output_field=CharField()), row_start=start,
                row_tier=ExpressionWrapper(under["tier"], output_field=IntegerField()),
                row_manager=ExpressionWrapper(under["manager"], output_field=IntegerField()),
            )
            .values("row_span", "row_start", "survey_key", "row_tier", "row_manager", "band")
            .annotate(
                row_customers=ExpressionWrapper(Count("pk") * sign, output_field=IntegerField()),
                row_revenue=ExpressionWrapper(Sum(under["revenue"]) * sign, output_field=DecimalField()),
            )
            .order_by()
        )
        selects.append(grouped.query.sql_with_params())
    return selects


def _add(selects: Sequence[tuple[str, list]]) -> None:
    """Adds what the selects count to LatestAnswerCount, in one upsert."""
    with connection.cursor() as cursor:
        cursor.execute(*_add_statement(selects))


def _union(selects: Sequence[tuple[str, list]]) -> tuple[str, list]:
    """The selects' rows as one SELECT, with their parameters in order."""
    return " UNION ALL ".join(sql for sql, _ in selects), [param for _, params in selects for param in params]


def _add_statement(selects: Sequence[tuple[str, list]]) -> tuple[str, list]:
    """_add's upsert and its parameters."""
    union, params = _union(selects)
    sql = (
        f"INSERT INTO {TABLE} ({KEY}, customers, revenue)"  # nosec B608: model table names and ORM-compiled SQL
        f" SELECT row_span, row_start, survey_key, row_tier, row_manager, band, SUM(row_customers), SUM(row_revenue)"
        f" FROM ({union}) delta WHERE 1 = 1"
        f" GROUP BY row_span, row_start, survey_key, row_tier, row_manager, band"
        # Every writer takes the rows in one order, or two answers sharing a day or a
        # month would each wait for a row the other holds.
        f" ORDER BY row_span, row_start, survey_key, row_tier, row_manager, band"
        f" ON CONFLICT ({KEY}) DO UPDATE SET customers = {TABLE}.customers + excluded.customers,"
        f" revenue = {TABLE}.revenue + excluded.revenue"
    )
    return sql, params


def answer_saved(response: Response) -> None:
    """From Response's post_save, before LatestAnswer's upsert (rollups.py): the rows the
    answer will replace out, the answer in, under each survey key where it is, or ties
    with, the customer's latest, as the upsert decides it; one statement, written here
    rather than built by the ORM (building and compiling it cost an answer ~6 ms of CPU)."""
    with connection.cursor() as cursor:
        cursor.execute(*answer_saved_statement(response))


def answer_saved_statement(response: Response) -> tuple[str, list]:
    """answer_saved's statement and its parameters (a first answer runs it inside its own)."""
    ops, time_zone = connection.ops, timezone.get_current_timezone_name()
    day, day_params = ops.datetime_cast_date_sql("l.submitted_at", (), time_zone)
    month, month_params = ops.date_trunc_sql("month", day, day_params)
    if connection.vendor == "postgresql":
        month = f"({month})::date"  # DATE_TRUNC gives a timestamp
    replaced = (
        f"SELECT s.span AS row_span, CASE WHEN s.span = %s THEN {day} ELSE {month} END AS row_start,"  # nosec B608
        f" l.survey_key, l.tier_key AS row_tier, l.manager_key AS row_manager, l.band, -1 AS row_customers,"
        f" -l.revenue AS row_revenue FROM {LATEST} l CROSS JOIN (SELECT %s AS span UNION ALL SELECT %s) s"
        f" WHERE l.customer_id = %s AND l.survey_key IN (%s, %s) AND l.active"
        f" AND (l.submitted_at < %s OR (l.submitted_at = %s AND l.response_id <= %s))"
    )
    answer = (
        f"SELECT s.span, s.start, k.survey_key, COALESCE(c.tier, 0), COALESCE(c.account_manager_id, 0), %s, 1,"  # nosec B608
        f" c.revenue_12m FROM {CUSTOMERS} c"
        f" CROSS JOIN (SELECT %s AS survey_key UNION ALL SELECT %s) k"
        f" CROSS JOIN (SELECT %s AS span, %s AS start UNION ALL SELECT %s, %s) s"
        f" WHERE c.id = %s AND c.is_active AND NOT EXISTS (SELECT 1 FROM {LATEST} l"
        f" WHERE l.customer_id = c.id AND l.survey_key = k.survey_key"
        f" AND (l.submitted_at > %s OR (l.submitted_at = %s AND l.response_id > %s)))"
    )
    keys = [ANY_SURVEY, response.survey_id]
    at = ops.adapt_datetimefield_value(response.submitted_at)
    answered_on = timezone.localdate(response.submitted_at)
    spans = [LatestAnswerSpan.DAY.value, LatestAnswerSpan.MONTH.value]
    replaced_params = [spans[0], *day_params, *month_params, *spans, response.customer_id, *keys, at, at, response.pk]
    answer_params = [response.band, *keys, spans[0], ops.adapt_datefield_value(answered_on),
                     spans[1], ops.adapt_datefield_value(answered_on.replace(day=1)),
                     response.customer_id, at, at, response.pk]
    return _add_statement([(replaced, replaced_params), (answer, answer_params)])


def take_out(*, customer_ids: Sequence[int]) -> None:
    """The customers' rows out of the counts, before their LatestAnswer rows change."""
    _add(_counted(LatestAnswer.objects.filter(customer_id__in=customer_ids), under=COPIED, sign=-1))


def put_in(*, customer_ids: Sequence[int], copy: bool = False) -> None:
    """The customers' rows into the counts, once their LatestAnswer rows changed (`copy`:
    rows written without the customer on them, which it is copied onto first)."""
    if copy:
        _copy_customers(customer_ids)
    _add(_counted(LatestAnswer.objects.filter(customer_id__in=customer_ids), under=COPIED))


def latest_answer_deleted(row: LatestAnswer) -> None:
    """From LatestAnswer's post_delete (its answer or its customer deleted): the row,
    gone from the table, out of its day's and its month's counts."""
    if not row.active:
        return
    day = timezone.localdate(row.submitted_at)
    values = "(%s, %s, %s, %s, %s, %s, -1, %s)"
    sql = (
        f"INSERT INTO {TABLE} ({KEY}, customers, revenue) VALUES {values}, {values}"  # nosec B608: model table name
        f" ON CONFLICT ({KEY}) DO UPDATE SET customers = {TABLE}.customers + excluded.customers,"
        f" revenue = {TABLE}.revenue + excluded.revenue"
    )
    params = []
    for span, start in ((LatestAnswerSpan.DAY, day), (LatestAnswerSpan.MONTH, day.replace(day=1))):
        params += [span.value, connection.ops.adapt_datefield_value(start), row.survey_key, row.tier_key,
                   row.manager_key, row.band, -row.revenue]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _differing(customer_ids: Sequence[int] | None) -> QuerySet[LatestAnswer]:
    """Rows whose copy of the customer is not the customer as it stands."""
    rows = LatestAnswer.objects.exclude(
        tier_key=Coalesce("customer__tier", 0),
        manager_key=Coalesce("customer__account_manager", 0),
        revenue=F("customer__revenue_12m"),
        active=F("customer__is_active"),
    )
    return rows if customer_ids is None else rows.filter(customer_id__in=customer_ids)


def _copy_customers(customer_ids: Sequence[int] | None) -> int:
    """Copies the customers as they stand onto their LatestAnswer rows that differ."""
    narrowed = "" if customer_ids is None else f" AND c.id IN ({', '.join(['%s'] * len(customer_ids))})"
    sql = (
        f"UPDATE {LATEST} SET tier_key = COALESCE(c.tier, 0), manager_key = COALESCE(c.account_manager_id, 0),"  # nosec B608
        f" revenue = c.revenue_12m, active = c.is_active FROM {CUSTOMERS} c"
        f" WHERE {LATEST}.customer_id = c.id AND NOT ({LATEST}.tier_key = COALESCE(c.tier, 0)"
        f" AND {LATEST}.manager_key = COALESCE(c.account_manager_id, 0) AND {LATEST}.revenue = c.revenue_12m"
        f" AND {LATEST}.active = c.is_active){narrowed}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(customer_ids or []))
        return cursor.rowcount


def customers_changed(*, customer_ids: Sequence[int] | None) -> None:
    """From customers' `customers_changed` (None: any customer may have changed): the
    rows whose customer moved tier, manager, revenue or activity move with it."""
    if customer_ids is not None and not customer_ids:
        return
    # In the transaction that changed the customers (a signal's, a save's), not one of its own.
    differing = _differing(customer_ids)
    _add([*_counted(differing, under=COPIED, sign=-1), *_counted(differing, under=CURRENT)])
    _copy_customers(customer_ids)


def rebuild() -> None:
    """Copies every customer onto its rows and counts them all again, in one transaction."""
    with transaction.atomic():
        _copy_customers(None)
        LatestAnswerCount.objects.all().delete()
        _add(_counted(LatestAnswer.objects.all(), under=COPIED))
    logger.info("Latest answer counts rebuilt")


def differences() -> int:
    """How many counts differ from what the customers' latest answers say, plus how many
    rows' copies differ from their customer: 0 when all is true."""
    expected, params = _union(_counted(LatestAnswer.objects.all(), under=CURRENT))
    held = f"SELECT {KEY}, customers, revenue FROM {TABLE} WHERE customers <> 0 OR revenue <> 0"  # nosec B608
    sql = (
        f"SELECT COUNT(*) FROM (SELECT * FROM ({expected}) e EXCEPT SELECT * FROM ({held}) h) missing"  # nosec B608
        f" UNION ALL SELECT COUNT(*) FROM (SELECT * FROM ({held}) h EXCEPT SELECT * FROM ({expected}) e) extra"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 2)
        found = sum(count for (count,) in cursor.fetchall())
    return found + _differing(None).count()


def verify() -> int:
    """Rebuilds when the counts or the copies differ; returns how many differed."""
    found = differences()
    if found:
        logger.warning("Latest answer counts: %s rows differed from the latest answers; rebuilding", found)
        rebuild()
    return found

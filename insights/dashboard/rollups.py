"""Each customer's latest counted answer, kept on write (LatestAnswer), so that the
insights' "customers by their latest answer" reads one small row per customer instead
of searching every customer's answers (0.42–0.47 s at 1,000,000 answers before).

Kept by one statement per saved answer: insights listens to the post_save that Django
sends for surveys' Response (surveys knows nothing of it), inside the transaction that
saves the answer, so a committed answer is always reflected. The statement is an
upsert of the answer as the customer's latest, to its survey and to any survey, that
changes a row only when the answer is at least as recent as the one it holds:
    a new answer, or a changed one (its time moves to now): it becomes the latest;
    an answer confirmed as a person's long after: it is the latest only if nothing
    newer came meanwhile.
The rare answer that leaves the counted ones (judged a scanner's on a change) makes the
customer's rows be recomputed from their answers instead (a few index reads). A
deleted answer takes its rows with it (a foreign key); what stands in their place, and
rows written by other means than a model save (bulk loads, raw SQL), are set right by
`rebuild`, which `verify` runs when it finds a difference (the management command
`rebuild_insights_rollups`, and a nightly task).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import connection, transaction

from customers.models import Customer
from surveys.models import Response

from ..models import ANY_SURVEY, LatestAnswer
from . import latest_counts

logger = logging.getLogger(__name__)

TABLE = LatestAnswer._meta.db_table
RESPONSES = Response._meta.db_table
CUSTOMERS = Customer._meta.db_table

# The answer as the customer's latest to any survey and to its own, with the customer
# as LatestAnswerCount counts it (tier, manager, revenue, activity).
UPSERT = f"""
INSERT INTO {TABLE} (customer_id, survey_key, response_id, band, score, submitted_at,
                     tier_key, manager_key, revenue, active)
SELECT c.id, k.survey_key, %s, %s, %s, %s, COALESCE(c.tier, 0), COALESCE(c.account_manager_id, 0),
       c.revenue_12m, c.is_active
FROM {CUSTOMERS} c CROSS JOIN (SELECT %s AS survey_key UNION ALL SELECT %s) k
WHERE c.id = %s
ON CONFLICT (customer_id, survey_key) DO UPDATE
SET response_id = excluded.response_id, band = excluded.band, score = excluded.score,
    submitted_at = excluded.submitted_at, tier_key = excluded.tier_key, manager_key = excluded.manager_key,
    revenue = excluded.revenue, active = excluded.active
WHERE excluded.submitted_at > {TABLE}.submitted_at
   OR (excluded.submitted_at = {TABLE}.submitted_at AND excluded.response_id >= {TABLE}.response_id)
"""  # nosec B608: table names from the models, values as parameters

# Every customer's latest counted answer per survey and to any survey (scope 0), from
# the answers themselves; {customers} narrows it to some customers.
LATEST = f"""
SELECT customer_id, survey_key, id, band, score, submitted_at FROM (
    SELECT r.customer_id, r.id, r.band, r.score, r.submitted_at,
           CASE WHEN k.scope = 0 THEN {ANY_SURVEY} ELSE r.survey_id END AS survey_key,
           ROW_NUMBER() OVER (
               PARTITION BY r.customer_id, CASE WHEN k.scope = 0 THEN {ANY_SURVEY} ELSE r.survey_id END
               ORDER BY r.submitted_at DESC, r.id DESC
           ) AS position
    FROM {RESPONSES} r CROSS JOIN (SELECT 0 AS scope UNION ALL SELECT 1) k
    WHERE r.is_suspect = %s {{customers}}
) ranked
WHERE position = 1
"""  # nosec B608
COLUMNS = "customer_id, survey_key, response_id, band, score, submitted_at"
# The same on PostgreSQL, faster for every customer at once: DISTINCT ON walks the
# covering index response_customer_latest_idx for "any survey".
LATEST_POSTGRESQL = f"""
(SELECT DISTINCT ON (customer_id) customer_id, {ANY_SURVEY}, id, band, score, submitted_at
 FROM {RESPONSES} r WHERE is_suspect = %s {{customers}}
 ORDER BY customer_id, submitted_at DESC, id DESC)
UNION ALL
(SELECT DISTINCT ON (customer_id, survey_id) customer_id, survey_id, id, band, score, submitted_at
 FROM {RESPONSES} r WHERE is_suspect = %s {{customers}}
 ORDER BY customer_id, survey_id, submitted_at DESC, id DESC)
"""  # nosec B608


def answer_saved(response: Response) -> None:
    """The hand-off from Response's post_save: for a counted answer, its counts moved
    (LatestAnswerCount) and one upsert."""
    if response.is_suspect:
        recompute(customer_ids=[response.customer_id])
        return
    latest_counts.answer_saved(response)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, upsert_params(response))


def upsert_params(response: Response) -> list:
    """UPSERT's parameters: `response` as its customer's latest answer, to any survey and to its own."""
    row = (response.pk, response.band, response.score, connection.ops.adapt_datetimefield_value(response.submitted_at))
    return [*row, ANY_SURVEY, response.survey_id, response.customer_id]


def answer_deleted(response: Response) -> None:
    """From Response's post_delete: its rows went by cascade (each taking itself out of
    the counts); what stands in their place now is the customer's answer before."""
    recompute(customer_ids=[response.customer_id])


def recompute(*, customer_ids: Sequence[int] | None = None) -> None:
    """Replaces the rows of these customers (every customer: None) by what their answers
    say, and their counts in LatestAnswerCount with them."""
    narrowed = "" if customer_ids is None else f"AND r.customer_id IN ({', '.join(['%s'] * len(customer_ids))})"
    params = [False, *(customer_ids or [])]
    latest = LATEST
    if connection.vendor == "postgresql":
        latest, params = LATEST_POSTGRESQL, params * 2
    with transaction.atomic(), connection.cursor() as cursor:
        if customer_ids is None:
            cursor.execute(f"DELETE FROM {TABLE}")  # nosec B608
        else:
            latest_counts.take_out(customer_ids=customer_ids)
            # Not through the ORM: a row deleted by a model delete takes itself out of the counts.
            listed = ", ".join(["%s"] * len(customer_ids))
            cursor.execute(f"DELETE FROM {TABLE} WHERE customer_id IN ({listed})", list(customer_ids))  # nosec B608
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {latest.format(customers=narrowed)}", params)  # nosec B608
        if customer_ids is None:
            latest_counts.rebuild()
        else:
            latest_counts.put_in(customer_ids=customer_ids, copy=True)


def rebuild() -> None:
    recompute(customer_ids=None)
    logger.info("Latest answers rebuilt")


def differences() -> int:
    """How many rows differ from what the answers say (missing, extra or other): 0 when
    the rollup is true."""
    expected = LATEST.format(customers="")
    held = f"SELECT {COLUMNS} FROM {TABLE}"  # nosec B608
    sql = (
        f"SELECT COUNT(*) FROM (SELECT * FROM ({expected}) e EXCEPT SELECT * FROM ({held}) h) missing"  # nosec B608
        f" UNION ALL SELECT COUNT(*) FROM (SELECT * FROM ({held}) h EXCEPT SELECT * FROM ({expected}) e) extra"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [False, False])
        return sum(count for (count,) in cursor.fetchall())


def verify() -> int:
    """Rebuilds when the rollup differs from the answers; returns how many rows differed."""
    found = differences()
    if found:
        logger.warning("Latest answers: %s rows differed from the answers; rebuilding", found)
        rebuild()
    return found

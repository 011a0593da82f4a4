"""`make bench` P6: value metrics and tiers for 50,000 customers with 500,000 invoices,
against one hand-written GROUP BY of the same figures over the same invoices.

The data is written in SQL (generate_series; setseed makes it the same each run) and
analysed. Each round is a nightly recompute: `as_of` moves on a day, so invoices enter
and leave the window and unpaid ones grow later. The baseline computes the same
per-customer figures (revenue, on-time rate, average days late) for the same day in
one GROUP BY, aggregated in the server so that neither side ships rows to Python; ours
also ranks the tiers and writes every customer whose figures changed (the average days
late is kept in parts that do not grow with the days, so an unpaid invoice past due no
longer changes its customer every night)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.db import connection

from customers.models import Customer
from customers.services import recompute_value_metrics
from customers.value import trailing_year_start
from tests.benchmarks.report import Figure, Spread, record, size
from tests.support.services import require_postgresql

# Committed as a real night is, so that updated rows can be pruned and vacuumed.
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

CUSTOMERS = size(50_000, 500)
INVOICES_PER_CUSTOMER = 10
AS_OF = date(2026, 6, 15)
ROUNDS = 4
TARGET = 2.0

# Customers with Pareto-distributed invoice amounts (shape 1.16, minimum 100), a cost to
# serve; 2% inactive. Ten invoices each over the 700 days before AS_OF, due 30 days
# after issue, 10% unpaid, the others paid 10 days early to 40 days late.
CREATE_CUSTOMERS = """
INSERT INTO customers_customer (external_id, name, cost_to_serve, is_active, time_zone, created_at,
                                updated_at, revenue_12m, net_value, latest_band)
SELECT 'B-' || lpad(n::text, 6, '0'), 'Bench customer ' || n, floor(random() * 5000), random() >= 0.02, '',
       now(), now(), 0, 0, ''
FROM generate_series(1, %(customers)s) AS n
"""
CREATE_INVOICES = """
WITH scaled AS (
    SELECT id, round(LEAST(100 * power(1 - random(), -1 / 1.16), 1e8)::numeric, 2) AS amount
    FROM customers_customer WHERE starts_with(external_id, 'B-')
), drawn AS (
    SELECT id, amount, k, %(as_of)s::date - floor(random() * 700)::int AS issued_on, random() AS paid
    FROM scaled, generate_series(1, %(invoices)s) AS k
)
INSERT INTO customers_invoice (customer_id, number, amount, issued_on, due_on, paid_on)
SELECT id, 'I-' || k, amount, issued_on, issued_on + 30,
       CASE WHEN paid < 0.1 THEN NULL ELSE issued_on + 20 + floor(random() * 51)::int END
FROM drawn
ORDER BY id, k
"""

# The same figures as customers.services computes, per customer, in one GROUP BY.
HAND_WRITTEN = """
SELECT count(*), sum(revenue), sum(on_time_rate), sum(avg_days_late) FROM (
    SELECT customer_id,
           SUM(amount) AS revenue,
           (COUNT(*) FILTER (WHERE paid_on <= due_on))::float8
               / NULLIF(COUNT(*) FILTER (WHERE paid_on IS NOT NULL OR due_on < %(as_of)s), 0) AS on_time_rate,
           (SUM(GREATEST(COALESCE(paid_on, %(as_of)s) - due_on, 0))
               FILTER (WHERE paid_on IS NOT NULL OR due_on < %(as_of)s))::float8
               / NULLIF(COUNT(*) FILTER (WHERE paid_on IS NOT NULL OR due_on < %(as_of)s), 0) AS avg_days_late
    FROM customers_invoice
    WHERE issued_on > %(start)s AND issued_on <= %(as_of)s
    GROUP BY customer_id
) AS figures
"""


def create_portfolio() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.16)")
        cursor.execute(CREATE_CUSTOMERS, {"customers": CUSTOMERS})
        cursor.execute(CREATE_INVOICES, {"as_of": AS_OF, "invoices": INVOICES_PER_CUSTOMER})
        cursor.execute("ANALYZE customers_customer, customers_invoice")
    return time.perf_counter() - started


def vacuum() -> None:
    """What autovacuum does after a night's recompute: it updates far more than the 20%
    of the customer table that sets autovacuum off."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")


def hand_written_group_by(as_of: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, {"as_of": as_of, "start": trailing_year_start(as_of)})
        cursor.fetchall()


@pytest.mark.timeout(600)
def test_value_metrics_for_fifty_thousand_customers(django_assert_max_num_queries):
    require_postgresql()
    generated = create_portfolio()
    started = time.perf_counter()
    first_changed = recompute_value_metrics(as_of=AS_OF - timedelta(days=1))
    first = time.perf_counter() - started
    vacuum()
    hand_written_group_by(AS_OF)  # warm, as the first recompute warmed ours

    ours, baseline, changed, again = [], [], [], []
    for round_ in range(ROUNDS):
        as_of = AS_OF + timedelta(days=round_)
        started = time.perf_counter()
        # BEGIN, the one UPDATE, then insights' latest answers' counts following the
        # customers (customers_changed: out, copied, in), COMMIT.
        with django_assert_max_num_queries(6):
            changed.append(recompute_value_metrics(as_of=as_of))
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        hand_written_group_by(as_of)
        baseline.append(time.perf_counter() - started)
        vacuum()
        started = time.perf_counter()
        assert recompute_value_metrics(as_of=as_of) == 0
        again.append(time.perf_counter() - started)

    assert not Customer.objects.filter(is_active=True, tier__isnull=True).exists()
    ours_spread, baseline_spread = Spread.of([t * 1000 for t in ours]), Spread.of([t * 1000 for t in baseline])
    ratio = ours_spread.median / baseline_spread.median
    record(Figure(
        id="P6",
        path=f"tier recompute, {CUSTOMERS:,} customers / {CUSTOMERS * INVOICES_PER_CUSTOMER:,} invoices",
        ours=ours_spread.text(" ms"),
        baseline=f"one hand-written GROUP BY: {baseline_spread.text(' ms')}",
        ratio=f"{ratio:.2f}×",
        target=f"<= {TARGET:.0f}×",
        met=ratio <= TARGET,
        changed="The metrics and the tiers are one UPDATE: the invoice totals in one GROUP BY (the ORM "
        "compiles it; fewer FILTERs than before, so it alone costs about 0.8× the hand-written one), the tiers by "
        "one window over one descending sort of the revenues (the revenue ranked strictly above is a GROUPS frame "
        "ending one group back), and only the customers whose figures moved are written. The average days late "
        "is kept in parts that stand still from day to day (invoices counted, days late of the paid ones, the "
        "overdue ones and their due dates added up) and added up as of the day it is read, so a night writes "
        "~900 customers (an invoice paid, falling due, or leaving the 12 months) where it wrote ~20,000 (every "
        "customer with an unpaid invoice past due); side by side, 3.66× then 3.48×, 3.06× then 2.85×. Before "
        "all this, three correlated subqueries per customer and a second UPDATE of every row took 3.3 s. Still "
        "in the way: writing is now nearly free (the same day again, writing nothing, costs as much), and what "
        "remains is the ranking of all 50,000 customers every night: the join to the customers, the sort and "
        "two windows over 50,000 rows and the join back to the rows written cost about twice the GROUP BY on "
        "their own (in the database's CPU time, the statement is 2.8–3.5× the GROUP BY). Reaching 2× needs a "
        "night that reads only the customers whose invoices moved.",
        details=[
            f"{ROUNDS} nightly rounds (as_of moves on a day each), recompute then GROUP BY, then VACUUM ANALYZE "
            f"of the customers as autovacuum would; customers written a night: {Spread.of(changed).text()}.",
            f"The same day recomputed again (after an invoice import that moved nothing: no customer written): "
            f"{Spread.of([t * 1000 for t in again]).text(' ms')}.",
            f"The first recompute, writing all {first_changed:,} customers: {first:.2f} s. "
            f"Data written in SQL and analysed in {generated:.1f} s.",
        ],
    ))

"""A large, realistic portfolio for benchmarking the insights pages, written in SQL.

`create_insights_portfolio` fills the PostgreSQL database the caller is connected to
(the test database, inside a pytest-django test) with account managers, customers
with Pareto-distributed revenue and tiers, contacts, two years of deliveries with
their invitations, answers and at-risk alerts (more than a page of them still being
worked in every account manager's queue, whatever the size). Every step is one INSERT
... SELECT over generate_series, drawing from random() after setseed(), so one seed and one
`today` give the same data, and the default size (50,000 customers, 1,000,000
answers) takes about a minute instead of the hours the ORM would need (each step's
table is analysed before the next reads it, as autovacuum would have).

Ids come from the tables' own sequences, so the ORM can keep adding rows afterwards.
The rows it creates are recognisable: users `bench.manager.N`, customers `BENCH-NNNNNN`,
the survey `bench-nps`; it is meant for a database without them (run it once).

"Now" for the data is the start of `today` (in the current time zone): every delivery,
invitation, answer and alert step lies before it, and what is still pending at that
moment (unexpired invitations, unacknowledged alerts) is left pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from surveys.models import Survey
from surveys.services import refresh_latest_answers

__all__ = ["create_insights_portfolio"]

ACCOUNT_MANAGERS = 12
# More than a page of the alert queue (insights.alerts.views.ALERTS_PER_PAGE, 50), where
# the manager's customers gave that many at-risk answers (at 10,000 answers, ~40–60 each).
UNRESOLVED_PER_MANAGER = 60
HISTORY_DAYS = 730
INVITATIONS_PER_RESPONSE = 1.25
# Loaded without their secondary indexes and constraints (see _bulk_load).
BULK_TABLES = ["customers_contact", "surveys_delivery", "surveys_invitation", "surveys_response"]

# --- One SQL statement per step. %(name)s are query parameters.

# 12 account managers who cannot log in (unusable password "!").
CREATE_MANAGERS = """
INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, last_name,
                       email, is_staff, is_active, date_joined)
SELECT '!', NULL, FALSE, 'bench.manager.' || n, 'Bench', 'Manager ' || n,
       'bench.manager.' || n || '@example.com', FALSE, TRUE, now()
FROM generate_series(1, %(managers)s) AS n
ORDER BY n
RETURNING id
"""

# Customers: Pareto revenue (shape 1.16, minimum 100: a few huge, most tiny), a cost to
# serve of 35–110% of revenue (3% unknown), punctuality skewed towards on time (5% with no
# due invoices), 2% inactive, a quarter without a manager. Tiers by the rule of
# customers.services._update_tiers: `before` is the revenue of the active customers ranked
# strictly above (ties share a tier); inactive customers have none.
CREATE_CUSTOMERS = """
WITH drawn AS (
    SELECT n,
           random() >= 0.02 AS is_active,
           CASE WHEN random() < 0.25 THEN NULL
                ELSE (%(manager_ids)s::int[])[1 + floor(random() * cardinality(%(manager_ids)s::int[]))::int]
           END AS manager_id,
           round(LEAST(100 * power(1 - random(), -1 / 1.16), 1e9)::numeric, 2) AS revenue,
           CASE WHEN random() < 0.03 THEN NULL ELSE 0.35 + 0.75 * random() END AS cost_share,
           CASE WHEN random() < 0.05 THEN NULL ELSE round(power(random(), 0.25)::numeric, 4)::float8 END AS on_time_rate,
           random() AS lateness
    FROM generate_series(1, %(customers)s) AS n
), valued AS (
    SELECT *, round(revenue * cost_share::numeric, 2) AS cost FROM drawn
), ranked AS (
    SELECT n,
           SUM(revenue) OVER (ORDER BY revenue DESC) - SUM(revenue) OVER (PARTITION BY revenue) AS before,
           SUM(revenue) OVER () AS total
    FROM valued
    WHERE is_active
)
INSERT INTO customers_customer (external_id, name, account_manager_id, cost_to_serve, is_active,
                                created_at, updated_at, revenue_12m, on_time_rate, decided_invoices, days_late_paid,
                                net_value, tier, metrics_updated_at, latest_score, latest_band,
                                latest_answer_at, time_zone)
SELECT 'BENCH-' || lpad(n::text, GREATEST(6, length(n::text)), '0'), 'Bench customer ' || n,
       manager_id, cost, is_active, now(), now(), revenue, on_time_rate,
       CASE WHEN on_time_rate IS NOT NULL THEN 10 ELSE 0 END,
       CASE WHEN on_time_rate IS NOT NULL THEN round((1 - on_time_rate) * 450 * lateness)::int ELSE 0 END,
       revenue - COALESCE(cost, 0),
       CASE WHEN NOT is_active THEN NULL
            WHEN total <= 0 OR revenue <= 0 THEN 4
            WHEN before * 100 < %(tier1)s * total THEN 1
            WHEN before * 100 < %(tier2)s * total THEN 2
            WHEN before * 100 < %(tier3)s * total THEN 3
            ELSE 4 END,
       now(), NULL, '', NULL, ''
FROM valued LEFT JOIN ranked USING (n)
ORDER BY n
"""

# The NPS survey (0–10, 0–6 at risk), with the default survey's delays and email texts.
CREATE_NPS_SURVEY = """
INSERT INTO surveys_survey (slug, name, is_default, is_active, question, scale_min, scale_max,
                            promoter_min, satisfied_min, send_delay, throttle, reminder_delay,
                            expiry, email_subject, reminder_subject, email_intro, email_signature,
                            created_at, send_days)
SELECT 'bench-nps', 'Bench NPS', FALSE, TRUE,
       'How likely are you to recommend us to a colleague, after {delivery}?',
       0, 10, 9, 7, send_delay, throttle, reminder_delay, expiry, email_subject,
       reminder_subject, email_intro, email_signature, now(), send_days
FROM surveys_survey
WHERE id = %(default_survey)s
RETURNING id
"""

# One to three contacts a customer, one in ten Spanish-speaking; emails lower-case and
# unique per customer.
CREATE_CONTACTS = """
WITH sized AS (
    SELECT id, lower(external_id) AS slug, 1 + floor(random() * 3)::int AS contact_count
    FROM customers_customer
    WHERE starts_with(external_id, 'BENCH-')
)
INSERT INTO customers_contact (customer_id, email, name, language, opted_out, opted_out_at, created_at)
SELECT sized.id, 'contact' || k || '.' || sized.slug || '@bench.example.com',
       'Contact ' || k || ' of ' || upper(sized.slug),
       CASE WHEN random() < 0.1 THEN 'es' ELSE 'en' END, FALSE, NULL, now()
FROM sized, generate_series(1, sized.contact_count) AS k
ORDER BY sized.id, k
"""

# Deliveries: about %(deliveries)s in all, shared in proportion to the square root of
# revenue (from ~4 for the smallest customers to ~1,000 for the largest), on a working
# day hour of one of the 730 days before today; customers who left only in their first
# 60–660 days. Half go to the first contact, 20% use the NPS survey. The inserts follow
# time, so ids grow with delivered_at as in production.
CREATE_DELIVERIES = """
WITH weighted AS (
    SELECT c.id AS customer_id, c.is_active, sqrt(c.revenue_12m) AS weight, contacts.ids AS contact_ids
    FROM customers_customer c
    JOIN (SELECT customer_id, array_agg(id ORDER BY id) AS ids
          FROM customers_contact GROUP BY customer_id) AS contacts ON contacts.customer_id = c.id
    WHERE starts_with(c.external_id, 'BENCH-')
), counted AS (
    SELECT customer_id, contact_ids,
           round(weight / SUM(weight) OVER () * %(deliveries)s * (0.25 + 1.5 * random()))::int AS delivery_count,
           CASE WHEN is_active THEN %(history_days)s ELSE 60 + floor(random() * 600)::int END AS active_days
    FROM weighted
), drawn AS (
    SELECT customer_id, k,
           contact_ids[CASE WHEN random() < 0.5 THEN 1
                            ELSE 1 + floor(random() * cardinality(contact_ids))::int END] AS contact_id,
           CASE WHEN random() < 0.2 THEN %(nps_survey)s ELSE %(default_survey)s END AS survey_id,
           %(now)s - make_interval(days => %(history_days)s - floor(random() * active_days)::int)
                   + make_interval(secs => 7 * 3600 + random() * 11 * 3600) AS delivered_at
    FROM counted, generate_series(1, counted.delivery_count) AS k
)
INSERT INTO surveys_delivery (customer_id, reference, delivered_at, description, contact_id, survey_id, created_at)
SELECT customer_id, 'ORD-' || lpad(k::text, GREATEST(6, length(k::text)), '0'), delivered_at, '',
       contact_id, survey_id, delivered_at
FROM drawn
ORDER BY delivered_at
"""

# One invitation a delivery, sent within 10 minutes of being due (the survey's send
# delay after delivery), closing the survey's expiry (14 days) after sending. Exactly
# %(responses)s, drawn at random, were answered; the others were reminded after the
# survey's reminder delay (3 days) if that moment has passed, and expired if theirs has.
CREATE_INVITATIONS = """
WITH planned AS (
    SELECT d.id AS delivery_id, d.contact_id, d.delivered_at, s.expiry, s.reminder_delay,
           d.delivered_at + s.send_delay AS scheduled_for,
           d.delivered_at + s.send_delay + random() * interval '10 minutes' AS sent_at,
           random() AS lottery
    FROM surveys_delivery d
    JOIN surveys_survey s ON s.id = d.survey_id
    JOIN customers_customer c ON c.id = d.customer_id
    WHERE starts_with(c.external_id, 'BENCH-')
), picked AS (
    SELECT *, row_number() OVER (ORDER BY lottery) <= %(responses)s AS responded FROM planned
)
INSERT INTO surveys_invitation (delivery_id, contact_id, status, suppressed_reason, scheduled_for,
                                next_attempt_at, expires_at, sent_at, remind_at, reminded_at,
                                send_attempts, last_error, token_hash, reminder_token_hash, created_at)
SELECT delivery_id, contact_id,
       CASE WHEN responded THEN 'responded'
            WHEN sent_at + expiry <= %(now)s THEN 'expired'
            ELSE 'sent' END,
       '', scheduled_for, NULL, sent_at + expiry, sent_at,
       CASE WHEN NOT responded AND sent_at + reminder_delay > %(now)s
                 AND sent_at + reminder_delay < sent_at + expiry THEN sent_at + reminder_delay END,
       CASE WHEN NOT responded AND sent_at + reminder_delay <= %(now)s THEN sent_at + reminder_delay END,
       0, '', NULL, NULL, delivered_at
FROM picked
ORDER BY delivery_id
"""

# One answer per answered invitation. Each customer has a mood (0 = delighted,
# 1 = unhappy) that moves its mix between 65% promoters / 5% at risk and 25% / 50%;
# overall about 45% promoters, 35% satisfied, 20% at risk. Scores fall within the band
# on the survey's own scale (0–10 or 1–10; low at-risk scores are rarer), and the band
# is derived from the score with the survey's thresholds. Comments: 60% of at-risk
# answers, 5% of satisfied, 3% of promoters. Answers come between 5 minutes after
# sending and the expiry, half within 5 hours; 0.5% are suspect and came within
# 15 seconds (see surveys.suspicion). The inserts follow submitted_at.
CREATE_RESPONSES = """
WITH moods AS (
    SELECT id AS customer_id, random() AS mood
    FROM customers_customer
    WHERE starts_with(external_id, 'BENCH-')
), drawn AS (
    SELECT i.id AS invitation_id, d.customer_id, d.survey_id, i.sent_at,
           LEAST(i.expires_at, %(now)s) - i.sent_at - interval '5 minutes' AS answer_window,
           s.scale_min, s.scale_max, s.satisfied_min, s.promoter_min,
           0.05 + 0.45 * m.mood * m.mood AS at_risk_share,
           0.65 - 0.40 * m.mood AS promoter_share,
           random() AS band_draw, random() AS score_draw, random() AS comment_draw,
           random() AS comment_pick, random() < 0.005 AS is_suspect, random() AS delay_draw
    FROM surveys_invitation i
    JOIN surveys_delivery d ON d.id = i.delivery_id
    JOIN surveys_survey s ON s.id = d.survey_id
    JOIN moods m ON m.customer_id = d.customer_id
    WHERE i.status = 'responded'
), scored AS (
    SELECT *,
           CASE WHEN band_draw < at_risk_share
                    THEN scale_min + floor(sqrt(score_draw) * (satisfied_min - scale_min))
                WHEN band_draw >= 1 - promoter_share
                    THEN promoter_min + floor(score_draw * (scale_max + 1 - promoter_min))
                ELSE satisfied_min + floor(score_draw * (promoter_min - satisfied_min))
           END::int AS score,
           CASE WHEN is_suspect THEN sent_at + interval '1 second' + random() * interval '13 seconds'
                ELSE sent_at + interval '5 minutes' + power(delay_draw, 6) * answer_window
           END AS submitted_at
    FROM drawn
), banded AS (
    SELECT *,
           CASE WHEN score >= promoter_min THEN 'promoter'
                WHEN score >= satisfied_min THEN 'satisfied'
                ELSE 'at_risk' END AS band
    FROM scored
)
INSERT INTO surveys_response (invitation_id, customer_id, survey_id, score, band, comment, is_suspect,
                              first_submitted_at, submitted_at, revisions, needs_evaluation, suspect_review)
SELECT invitation_id, customer_id, survey_id, score, band,
       CASE WHEN comment_draw >= CASE band WHEN 'at_risk' THEN 0.60 WHEN 'satisfied' THEN 0.05 ELSE 0.03 END
                THEN ''
            WHEN band = 'at_risk' THEN (ARRAY[
                'The driver arrived three hours late and nobody called us.',
                'Second missed delivery this month. We are looking at other suppliers.',
                'Half of the order was damaged.',
                'Invoice did not match the quote.',
                'Nobody answers the phone when something goes wrong.',
                'Wrong items delivered again.'])[1 + floor(comment_pick * 6)::int]
            WHEN band = 'satisfied' THEN (ARRAY[
                'Fine, but the delivery window was too wide.',
                'OK overall. Paperwork could be simpler.',
                'Good service, a bit late.',
                'Friendly crew, slow booking.'])[1 + floor(comment_pick * 4)::int]
            ELSE (ARRAY[
                'Great service as always!',
                'On time and very professional, thank you.',
                'Excellent, the crew was very careful.'])[1 + floor(comment_pick * 3)::int]
       END,
       is_suspect, submitted_at, submitted_at, 0, FALSE, ''
FROM banded
ORDER BY submitted_at
"""

# At-risk alerts for ~2% of the (non-suspect) at-risk answers, ranked and assigned from
# the customer as it stands, due 24 hours after the answer. Each is acknowledged within
# 0–96 hours (half within 12) and resolved within 0–14 days after that; 8% are never
# acknowledged and another 10% never resolved. Whatever lies after "now" has not
# happened yet, which sets the status. Alerts not acknowledged by their due time were
# escalated 5 minutes later (the sweep) and the CX leads emailed a minute after that;
# the assignee was emailed a minute after the alert was raised.
CREATE_ALERTS = """
WITH chosen AS (
    SELECT r.id AS response_id, r.survey_id, r.customer_id, r.score, r.submitted_at AS created_at,
           r.submitted_at + interval '24 hours' AS due_at,
           random() AS neglect, random() AS ack_draw, random() AS resolve_draw
    FROM surveys_response r
    WHERE r.band = 'at_risk' AND NOT r.is_suspect AND random() < 0.02
), timed AS (
    SELECT *,
           CASE WHEN neglect >= 0.08 THEN created_at + power(ack_draw, 3) * interval '96 hours' END AS ack_at
    FROM chosen
), worked AS (
    SELECT *,
           CASE WHEN neglect >= 0.18 THEN ack_at + power(resolve_draw, 2) * interval '14 days' END AS resolve_at,
           CASE WHEN (ack_at IS NULL OR ack_at > due_at + interval '5 minutes')
                     AND due_at + interval '5 minutes' <= %(now)s
                THEN due_at + interval '5 minutes' END AS escalated_at
    FROM timed
)
INSERT INTO insights_alert (response_id, survey_id, customer_id, kind, status, priority, high_value, assignee_id,
                            tier, revenue_12m, on_time_rate, score, previous_score, created_at, due_at,
                            acknowledged_at, resolved_at, escalated_at, notified_at,
                            escalation_notified_at, webhook_sent_at, webhook_attempts, webhook_error,
                            webhook_next_attempt_at, lost_contact_email, lost_contact_reason, handover_reason)
SELECT w.response_id, w.survey_id, w.customer_id, 'at_risk',
       CASE WHEN w.resolve_at <= %(now)s THEN 'resolved'
            WHEN w.ack_at <= %(now)s THEN 'acknowledged'
            ELSE 'open' END,
       COALESCE(c.tier, 4), COALESCE(c.tier IN (1, 2), FALSE), c.account_manager_id,
       c.tier, c.revenue_12m, c.on_time_rate, w.score,
       (SELECT p.score FROM surveys_response p
        WHERE p.customer_id = w.customer_id AND p.submitted_at < w.created_at
        ORDER BY p.submitted_at DESC LIMIT 1),
       w.created_at, w.due_at,
       CASE WHEN w.ack_at <= %(now)s THEN w.ack_at END,
       CASE WHEN w.resolve_at <= %(now)s THEN w.resolve_at END,
       w.escalated_at,
       CASE WHEN w.created_at + interval '1 minute' <= %(now)s THEN w.created_at + interval '1 minute' END,
       CASE WHEN w.escalated_at + interval '1 minute' <= %(now)s THEN w.escalated_at + interval '1 minute' END,
       NULL, 0, '', NULL, '', '', ''
FROM worked w
JOIN customers_customer c ON c.id = w.customer_id
ORDER BY w.created_at
"""

# The work in hand: every account manager has at least %(unresolved_per_manager)s alerts
# still being worked. How many a queue holds depends on how fast a team works it, not on
# how many answers came before; the history above leaves a few dozen a manager at
# 1,000,000 answers and almost none at 10,000, so the two portfolios' queues would not
# show the same page. The newest at-risk answers (not suspect, without an alert) of each
# manager's customers raise the open alerts that are missing, as CREATE_ALERTS would.
CREATE_ALERTS_IN_HAND = """
WITH worked AS (
    SELECT c.account_manager_id AS manager_id, COUNT(*) AS unresolved
    FROM insights_alert a
    JOIN customers_customer c ON c.id = a.customer_id
    WHERE a.status IN ('open', 'acknowledged')
    GROUP BY c.account_manager_id
), candidates AS (
    SELECT r.id AS response_id, r.survey_id, r.customer_id, r.score, r.submitted_at AS created_at,
           r.submitted_at + interval '24 hours' AS due_at, c.account_manager_id AS manager_id,
           ROW_NUMBER() OVER (PARTITION BY c.account_manager_id ORDER BY r.submitted_at DESC, r.id DESC) AS position
    FROM surveys_response r
    JOIN customers_customer c ON c.id = r.customer_id
    WHERE r.band = 'at_risk' AND NOT r.is_suspect AND c.account_manager_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM insights_alert a WHERE a.response_id = r.id)
)
INSERT INTO insights_alert (response_id, survey_id, customer_id, kind, status, priority, high_value, assignee_id,
                            tier, revenue_12m, on_time_rate, score, previous_score, created_at, due_at,
                            acknowledged_at, resolved_at, escalated_at, notified_at,
                            escalation_notified_at, webhook_sent_at, webhook_attempts, webhook_error,
                            webhook_next_attempt_at, lost_contact_email, lost_contact_reason, handover_reason)
SELECT k.response_id, k.survey_id, k.customer_id, 'at_risk', 'open',
       COALESCE(c.tier, 4), COALESCE(c.tier IN (1, 2), FALSE), c.account_manager_id,
       c.tier, c.revenue_12m, c.on_time_rate, k.score,
       (SELECT p.score FROM surveys_response p
        WHERE p.customer_id = k.customer_id AND p.submitted_at < k.created_at
        ORDER BY p.submitted_at DESC LIMIT 1),
       k.created_at, k.due_at, NULL, NULL,
       CASE WHEN k.due_at + interval '5 minutes' <= %(now)s THEN k.due_at + interval '5 minutes' END,
       CASE WHEN k.created_at + interval '1 minute' <= %(now)s THEN k.created_at + interval '1 minute' END,
       CASE WHEN k.due_at + interval '6 minutes' <= %(now)s THEN k.due_at + interval '6 minutes' END,
       NULL, 0, '', NULL, '', '', ''
FROM candidates k
JOIN customers_customer c ON c.id = k.customer_id
LEFT JOIN worked w ON w.manager_id = k.manager_id
WHERE k.position <= %(unresolved_per_manager)s - COALESCE(w.unresolved, 0)
ORDER BY k.created_at
"""


# Each bulk step, and the table it loads.
STEPS = [
    (CREATE_CONTACTS, "customers_contact"),
    (CREATE_DELIVERIES, "surveys_delivery"),
    (CREATE_INVITATIONS, "surveys_invitation"),
    (CREATE_RESPONSES, "surveys_response"),
]

# The bulk tables' unique constraints (primary keys aside), then their foreign keys:
# (table, name, definition).
CONSTRAINTS = """
SELECT t.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
WHERE con.contype IN ('u', 'f') AND t.relname = ANY(%s) AND pg_table_is_visible(t.oid)
ORDER BY con.contype DESC, t.relname, con.conname
"""

# Their other indexes, which back no constraint: (name, CREATE INDEX statement).
PLAIN_INDEXES = """
SELECT ix.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ix ON ix.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s) AND pg_table_is_visible(t.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
"""


def _check_deferred_constraints(cursor) -> None:
    """Runs the foreign-key checks deferred so far (PostgreSQL refuses to alter a table
    with pending ones), then defers again: Django creates its foreign keys INITIALLY DEFERRED."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def _bulk_load(cursor, tables: Sequence[str]) -> Iterator[None]:
    """Drops the tables' indexes and constraints other than primary keys and checks,
    and puts them back (same names, same definitions) after the block. Building an
    index once is several times faster than maintaining it row by row (the deferred
    foreign-key checks alone took ~45 s at commit, the index updates ~30 s); the
    foreign keys come back NOT VALID, unchecked against rows made to match them. Should
    the block fail, the transaction's rollback restores them.
    """
    quote = connection.ops.quote_name
    _check_deferred_constraints(cursor)
    cursor.execute(CONSTRAINTS, [list(tables)])
    constraints = cursor.fetchall()
    cursor.execute(PLAIN_INDEXES, [list(tables)])
    indexes = cursor.fetchall()
    for table, name, _ in reversed(constraints):
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {quote(name)}")
    yield
    _check_deferred_constraints(cursor)
    for _, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in constraints:
        # The rows were made to match their foreign keys; checking each over a million
        # rows again would double the load for nothing (NOT VALID still guards new rows).
        checked = " NOT VALID" if definition.startswith("FOREIGN KEY") else ""
        cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}{checked}")


def create_insights_portfolio(
    *, customers: int = 50_000, responses: int = 1_000_000, today: date, seed: int = 1
) -> None:
    """Fills the connected PostgreSQL database with `customers` customers and
    `responses` answers (about 1.25 invitations each) over the 730 days before `today`.

    Runs in one transaction (a savepoint inside a test) and ends with ANALYZE.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("create_insights_portfolio needs PostgreSQL (generate_series, setseed).")
    tier1, tier2, tier3 = settings.VALUEPULSE_TIER_THRESHOLDS
    params = {
        "customers": customers,
        "responses": responses,
        "deliveries": round(responses * INVITATIONS_PER_RESPONSE),
        "history_days": HISTORY_DAYS,
        "managers": ACCOUNT_MANAGERS,
        "unresolved_per_manager": UNRESOLVED_PER_MANAGER,
        "now": timezone.make_aware(datetime.combine(today, time.min)),
        "tier1": tier1,
        "tier2": tier2,
        "tier3": tier3,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Room to sort, hash and build indexes in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # Every random() below follows from the seed (setseed takes -1..1).
        cursor.execute("SELECT setseed(%s)", [(seed % 2_000_001) / 1_000_000 - 1])
        cursor.execute(CREATE_MANAGERS, params)
        params["manager_ids"] = [row[0] for row in cursor.fetchall()]
        cursor.execute(CREATE_CUSTOMERS, params)
        # The default survey comes from migration 0002 (remade if a flush removed it).
        params["default_survey"] = Survey.default().pk
        cursor.execute(CREATE_NPS_SURVEY, params)
        params["nps_survey"] = cursor.fetchone()[0]
        # Each INSERT … SELECT reads what the one before loaded: statistics for the fresh
        # rows first (as autovacuum would give them), or the planner takes the tables for
        # empty and picks nested loops over a million rows (minutes instead of seconds).
        cursor.execute("ANALYZE auth_user, customers_customer, surveys_survey")
        with _bulk_load(cursor, BULK_TABLES):
            for statement, loaded in STEPS:
                cursor.execute(statement, params)
                cursor.execute(f"ANALYZE {loaded}")
        cursor.execute("ANALYZE")
        # Each customer's latest answer, by the product's own query (~3 s at full size).
        refresh_latest_answers()
        cursor.execute(CREATE_ALERTS, params)
        cursor.execute(CREATE_ALERTS_IN_HAND, params)
        # Statistics again for what changed since, as the benchmarked queries will find them.
        cursor.execute("ANALYZE customers_customer, insights_alert")

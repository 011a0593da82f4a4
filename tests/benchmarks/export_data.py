"""Answers to export, written in SQL: `create_answers(count, today=…)` adds `count`
answers over the 700 days before `today`, from count/20 customers with one contact
each, every answer with its delivery and invitation, then analyses the tables.

One INSERT … SELECT over generate_series per table, after setseed(), so a size and a
day give the same data each run. Some texts are what the export must defend or quote:
customer names and comments starting with "=", "+", "-" or "@", commas and quotes.
Rows are recognisable (users `export.manager.N`, customers `EXPORT-NNNNNNN`); meant for
a database without them, such as the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time

from django.db import connection, transaction
from django.utils import timezone

from surveys.models import Survey

__all__ = ["create_answers"]

ANSWERS_PER_CUSTOMER = 20
HISTORY_DAYS = 700
MANAGERS = 10

CREATE_MANAGERS = """
INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', NULL, FALSE, 'export.manager.' || n, 'Export', 'Manager ' || n, 'export.manager.' || n || '@example.com',
       FALSE, TRUE, now()
FROM generate_series(1, %(managers)s) AS n
"""

# A fifth of the customers without a manager; tiers 1–4; one name in a hundred a formula.
CREATE_CUSTOMERS = """
INSERT INTO customers_customer (external_id, name, account_manager_id, cost_to_serve, is_active, time_zone,
                                created_at, updated_at, revenue_12m, net_value, tier, latest_band)
SELECT 'EXPORT-' || lpad(n::text, 7, '0'),
       CASE WHEN random() < 0.01 THEN '=HYPERLINK("http://evil.example","Customer ' || n || '")'
            ELSE 'Customer ' || n || ', "Ltd"' END,
       CASE WHEN random() < 0.2 THEN NULL
            ELSE (SELECT min(id) FROM auth_user WHERE starts_with(username, 'export.manager.'))
                 + floor(random() * %(managers)s)::int END,
       NULL, TRUE, '', now(), now(), 0, 0, 1 + floor(random() * 4)::int, ''
FROM generate_series(1, %(customers)s) AS n
"""

CREATE_CONTACTS = """
INSERT INTO customers_contact (customer_id, email, name, language, opted_out, opted_out_at, created_at,
                               opt_out_reason, undeliverable_reason)
SELECT id, lower(external_id) || '@example.com', 'Contact of ' || external_id, 'en', FALSE, NULL, now(), '', ''
FROM customers_customer
WHERE starts_with(external_id, 'EXPORT-')
"""

# Deliveries in time order (ids grow with time, as in production), each answered
# within a day; one comment in five, one of those a formula, none with a line break
# (so that the benchmark counts rows by lines).
CREATE_DELIVERIES = """
WITH customers AS (
    SELECT min(id) AS first_id, count(*) AS customers
    FROM customers_customer WHERE starts_with(external_id, 'EXPORT-')
), drawn AS (
    SELECT k, first_id + floor(random() * customers)::int AS customer_id,
           %(now)s - random() * make_interval(days => %(history_days)s) AS delivered_at
    FROM customers, generate_series(1, %(answers)s) AS k
)
INSERT INTO surveys_delivery (customer_id, reference, delivered_at, description, contact_id, survey_id, created_at)
SELECT d.customer_id, 'ORD-' || lpad(k::text, 8, '0'), d.delivered_at, '', c.id, %(survey)s, d.delivered_at
FROM drawn d JOIN customers_contact c ON c.customer_id = d.customer_id
ORDER BY d.delivered_at
"""

CREATE_INVITATIONS = """
INSERT INTO surveys_invitation (delivery_id, contact_id, status, suppressed_reason, scheduled_for, next_attempt_at,
                                expires_at, sent_at, remind_at, reminded_at, send_attempts, last_error, created_at)
SELECT d.id, d.contact_id, 'responded', '', d.delivered_at + interval '1 hour', NULL,
       d.delivered_at + interval '15 days', d.delivered_at + interval '1 hour', NULL, NULL, 1, '', d.delivered_at
FROM surveys_delivery d JOIN customers_customer c ON c.id = d.customer_id
WHERE starts_with(c.external_id, 'EXPORT-')
ORDER BY d.id
"""

CREATE_RESPONSES = """
WITH drawn AS (
    SELECT i.id AS invitation_id, d.customer_id, d.survey_id, 1 + floor(random() * 10)::int AS score,
           LEAST(i.sent_at + random() * interval '1 day', %(now)s - interval '1 second') AS submitted_at,
           random() AS comment_draw
    FROM surveys_invitation i JOIN surveys_delivery d ON d.id = i.delivery_id
    JOIN customers_customer c ON c.id = d.customer_id
    WHERE starts_with(c.external_id, 'EXPORT-')
)
INSERT INTO surveys_response (invitation_id, customer_id, survey_id, score, band, comment, is_suspect,
                              first_submitted_at, submitted_at, revisions, needs_evaluation, suspect_review)
SELECT invitation_id, customer_id, survey_id, score,
       CASE WHEN score >= 9 THEN 'promoter' WHEN score >= 6 THEN 'satisfied' ELSE 'at_risk' END,
       CASE WHEN comment_draw < 0.04 THEN '=1+2, said the "customer"'
            WHEN comment_draw < 0.2 THEN 'The crew was late, again; the invoice said "paid".'
            ELSE '' END,
       FALSE, submitted_at, submitted_at, floor(comment_draw * 3)::int, FALSE, ''
FROM drawn
ORDER BY submitted_at
"""


def create_answers(count: int, *, today: date) -> None:
    """`count` answers before the start of `today` (current time zone), with what they need."""
    now = timezone.make_aware(datetime.combine(today, time.min))
    params = {
        "managers": MANAGERS,
        "customers": max(1, count // ANSWERS_PER_CUSTOMER),
        "answers": count,
        "history_days": HISTORY_DAYS,
        "now": now,
        "survey": Survey.objects.filter(is_default=True).values_list("pk", flat=True).first()
        or Survey.objects.create(slug="export-bench", name="Export bench", is_default=True).pk,
    }
    # One transaction of its own: the SET LOCALs below last until its end, and the
    # indexes dropped for the load come back with it or not at all.
    with transaction.atomic(), connection.cursor() as cursor:
        # Room to sort a million rows in memory, for this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SELECT setseed(0.7)")
        for statement in (CREATE_MANAGERS, CREATE_CUSTOMERS, CREATE_CONTACTS):
            cursor.execute(statement, params)
        with _indexes_built_after(cursor, BULK_TABLES):
            for statement in (CREATE_DELIVERIES, CREATE_INVITATIONS, CREATE_RESPONSES):
                cursor.execute(statement, params)
        cursor.execute("ANALYZE auth_user, customers_customer, customers_contact, surveys_delivery, "
                       "surveys_invitation, surveys_response, surveys_survey")


# The tables a million rows go into; building their plain indexes once at the end is
# several times faster than keeping each up to date row by row.
BULK_TABLES = ["surveys_delivery", "surveys_invitation", "surveys_response"]


@contextmanager
def _indexes_built_after(cursor, tables: list[str]) -> Iterator[None]:
    """Drops the indexes of `tables` that back no constraint, and builds them again
    afterwards from their own definitions (in the caller's transaction: a rollback
    restores them as they were)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND schemaname = current_schema() "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [tables],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    # The rows are consistent by construction: no foreign key checks, row by row, as
    # pg_restore loads (it needs a superuser, as the test database's owner is here).
    cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    for _, definition in indexes:
        cursor.execute(definition)

"""A first answer written in one statement on PostgreSQL (issue 15).

Most answers are first answers, given on a page read a moment before. Claiming the
invitation (the UPDATE that marks it answered, only if it still stands as the page read
it), inserting the answer and making it the customer's latest answer were three ORM
statements, each compiled on every request and each a round trip; here they are one
statement, written once per process from the models' metadata: writable CTEs, which
PostgreSQL runs in full and together, so the answer is inserted only when the claim
succeeded and the customer changes only when the answer was inserted."""

from __future__ import annotations

from functools import cache

from django.db import connection

from customers.models import Customer

from .models import Invitation, InvitationStatus, Response


def _insert_fields():
    return [field for field in Response._meta.concrete_fields if not field.primary_key]


@cache
def _statement() -> str:
    invitations, answers, customers = Invitation._meta.db_table, Response._meta.db_table, Customer._meta.db_table
    fields = _insert_fields()
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # Typed placeholders: with server-side binding an untyped one in a SELECT list is text.
    values = ", ".join(
        "claimed.id" if field.attname == "invitation_id" else f"%s::{field.db_type(connection)}" for field in fields
    )
    return (
        f"WITH claimed AS ("  # nosec B608: table and column names from the models, values as parameters
        f" UPDATE {invitations} SET status = %s, remind_at = NULL"
        f" WHERE id = %s AND status = %s AND sent_at = %s"
        f" AND reminded_at IS NOT DISTINCT FROM %s::timestamptz AND expires_at = %s"
        f" RETURNING id"
        f"), answer AS ("
        f" INSERT INTO {answers} ({columns}) SELECT {values} FROM claimed RETURNING id"
        f"), latest AS ("
        f" UPDATE {customers} SET latest_score = %s, latest_band = %s, latest_answer_at = %s"
        f" WHERE id = %s AND (latest_answer_at IS NULL OR latest_answer_at <= %s) AND EXISTS (SELECT FROM answer)"
        f") SELECT id FROM answer"
    )


def write(invitation: Invitation, answer: Response) -> bool:
    """Claims `invitation` as it was read (sent, unanswered, with these times) and writes
    `answer` (unsaved; its pk set here) as its first answer and as the customer's latest,
    unless a later answer is the latest already. False, writing nothing, when the
    invitation no longer stands as read."""
    at = answer.submitted_at
    values = [
        field.get_db_prep_save(field.pre_save(answer, True), connection)
        for field in _insert_fields()
        if field.attname != "invitation_id"
    ]
    params = [
        InvitationStatus.RESPONDED,
        invitation.pk,
        InvitationStatus.SENT,
        invitation.sent_at,
        invitation.reminded_at,
        invitation.expires_at,
        *values,
        answer.score,
        answer.band,
        at,
        answer.customer_id,
        at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        row = cursor.fetchone()
    if row is None:
        return False
    answer.pk = row[0]
    answer._state.adding, answer._state.db = False, connection.alias
    return True


def is_supported() -> bool:
    return connection.vendor == "postgresql"

"""A first answer in the insights' rollups: its invitation's day answered (InvitationCount),
the customer's latest answer (LatestAnswer, and LatestAnswerCount with it) and its day's
count (RecentAnswerCount), kept in the transaction that records it (surveys'
invitation_answered).

On PostgreSQL the four writes of a counted answer are one statement (writable CTEs
around the same SQL counts.py and rollups.py run on their own), a round trip instead of
four on the hottest write (issue 15)."""

from __future__ import annotations

from django.db import connection

from surveys.models import Invitation, Response

from . import counts, latest_counts, rollups


def first_answer(invitation: Invitation, response: Response) -> None:
    if response.is_suspect or connection.vendor != "postgresql":
        counts.invitation_answered(invitation)
        rollups.answer_saved(response)
        counts.answer_saved(response, before=None)
        return
    answered, answered_params = counts.invitation_answered_statement(invitation)
    counted = counts.Counted.of(response)
    # Every part reads the rows as they stood before the statement: the latest answers'
    # counts move by what LatestAnswer held until now, as they do before its upsert.
    moved, moved_params = latest_counts.answer_saved_statement(response)
    sql = f"WITH moved AS ({moved}), latest AS ({rollups.UPSERT}), counted AS ({counts.ADD_ANSWER}) {answered}"
    params = [
        *moved_params,
        *rollups.upsert_params(response),
        *counts.add_answer_params(counted, step=1, customer_id=response.customer_id),
        *answered_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

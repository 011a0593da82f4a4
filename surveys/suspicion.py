"""Answers that look like a machine clicking: a pure rule, no database.

Mail security scanners open every link (some in a real browser), and a few also
submit forms. A person cannot answer seconds after the email left, nor pick two
different scores within a minute; such answers are kept but marked suspect, and
raise no alert until a stable answer follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

TOO_SOON_AFTER_SENDING = timedelta(seconds=15)
SCORE_FLIP_WINDOW = timedelta(minutes=1)


def looks_automated(
    *,
    score: int,
    answered_at: datetime,
    sent_at: datetime,
    previous_score: int | None = None,
    previous_answered_at: datetime | None = None,
) -> bool:
    if answered_at - sent_at < TOO_SOON_AFTER_SENDING:
        return True
    return (
        previous_score is not None
        and previous_answered_at is not None
        and previous_score != score
        and answered_at - previous_answered_at < SCORE_FLIP_WINDOW
    )

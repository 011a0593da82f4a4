"""The one retry policy for everything that leaves the building (emails, the webhook):
after a transient failure wait 1, 2, 4, then 8 minutes; the fifth failed attempt gives up.

Delays live in the database (a next-attempt time on the row), never in long Celery
countdowns, and stay far below the broker's visibility timeout.
"""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 5


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the `failed_attempts`-th failure before trying again."""
    return timedelta(minutes=min(2 ** (failed_attempts - 1), 30))


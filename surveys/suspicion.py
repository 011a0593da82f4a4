"""When an answer settles, and which answers look like a machine: pure rules, no database.

Mail security scanners open every link (some in a real browser), and a few also submit
every form they find; a person answers once, and now and then corrects themselves. So an
answer is not acted on the moment it arrives, but once it has been quiet for a while:

- **The quiet period** (`settings.ANSWER_QUIET_MINUTES`, 1 minute by default). An
  answer first given at t0 is evaluated (its alert raised, or the alert it raised
  brought up to date) at t_last + quiet, where t_last is the time of its last change.
  A correction (another score, another comment) restarts the period, so the alert
  carries the final answer: 8 at 10:00:00 changed to 2 at 10:00:14 raises one alert,
  about the 2, at 10:01:14. Insights' sweep and the task queued with a countdown both
  apply this (`settled_before`).
- **The burst.** The versions of an answer that followed each other with less than a
  quiet period between them: the last one and those before it back to the first gap of
  a quiet period or more. Only the current burst is judged; a person answering an hour
  after a scanner's clicks starts a burst of their own.
- **Suspect** (a machine): the burst holds three or more different scores within one
  quiet period, or it began within TOO_SOON_AFTER_SENDING of an email leaving (the
  survey or its reminder). A suspect answer is kept and counted nowhere, and raises no
  alert by itself: the account manager sees it as a "possible scanner", with the scores
  seen, and confirms it (a person: its alert is raised on the latest score) or
  dismisses it. Two scores (8, then 2) are a person correcting themselves.
- The same answer sent again after a quiet period by a suspect answer's respondent is
  a burst of its own, given the way a person would: it clears the mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

TOO_SOON_AFTER_SENDING = timedelta(seconds=15)
# The task that evaluates an answer is queued to run this long after its quiet period
# ends (seconds), so that it finds the answer settled; one that still comes a moment
# early waits for it (insights.alerts.services.evaluate_and_notify).
SETTLE_MARGIN = 0.05
# Different scores within one quiet period that only a machine gives.
SCANNER_SCORES = 3


def quiet_period() -> timedelta:
    """How long an answer must stay unchanged before it is acted on."""
    return timedelta(minutes=settings.ANSWER_QUIET_MINUTES)


def settled_before(now: datetime) -> datetime:
    """Answers last changed before this moment have been quiet long enough."""
    return now - quiet_period()


@dataclass(frozen=True)
class Version:
    """One version of an answer: its score and when it was given."""

    score: int
    at: datetime


def current_burst(versions: Sequence[Version], *, quiet: timedelta | None = None) -> list[Version]:
    """The versions (oldest first) of the answer's current burst: the last one and those
    before it that came less than a quiet period apart."""
    quiet = quiet_period() if quiet is None else quiet
    ordered = sorted(versions, key=lambda version: version.at)
    start = len(ordered) - 1
    while start > 0 and ordered[start].at - ordered[start - 1].at < quiet:
        start -= 1
    return ordered[start:]


def scores_seen(versions: Sequence[Version], *, quiet: timedelta | None = None) -> list[int]:
    """The scores of the current burst in the order given, each once."""
    return list(dict.fromkeys(version.score for version in current_burst(versions, quiet=quiet)))


def looks_automated(
    *,
    versions: Sequence[Version],
    emailed_at: Sequence[datetime | None],
    quiet: timedelta | None = None,
) -> bool:
    """Whether the answer's current burst looks like a machine clicking (see the module
    docstring). `emailed_at`: when the survey email and its reminder left (None: not yet)."""
    quiet = quiet_period() if quiet is None else quiet
    burst = current_burst(versions, quiet=quiet)
    began = burst[0].at
    if any(sent is not None and timedelta(0) <= began - sent < TOO_SOON_AFTER_SENDING for sent in emailed_at):
        return True
    return any(
        len({later.score for later in burst[index:] if later.at - version.at < quiet}) >= SCANNER_SCORES
        for index, version in enumerate(burst)
    )

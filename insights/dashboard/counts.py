"""Answers counted ahead of time, so that long periods do not mean reading every answer.

An answer can change (be revised, turn suspect, be confirmed) only until its invitation
expires, and every version of it comes after the invitation was sent. Every day before
the earliest day on which a still-open invitation was sent is therefore *settled*: its answers are final. `rebuild` counts the settled days into
AnswerCount by day, survey, tier, account manager and band, in one INSERT … SELECT;
the figures read those counts for settled days and the answers themselves for the
days after (a fortnight or so), so an answer given or revised a second ago is counted
at once, and nothing has to be kept in step answer by answer.

What can still change a settled day's counts is outside the answers: a customer moving
tier or account manager, or deleted with its answers, or another TIME_ZONE. `refresh`,
run by beat every five minutes, rebuilds when any of those happened or a new day has
settled; until then the figures keep the attribution of the last rebuild.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer
from surveys.models import Invitation, Response

from ..models import AnswerCount, AnswerCountState

logger = logging.getLogger(__name__)

STATE_PK = 1


def settled_before(*, now: datetime) -> date:
    """The first day whose answers may still change: the day the earliest still-open
    invitation was sent (every version of its answer comes after that, until it
    expires), or today. An invitation sent later can only be answered later."""
    earliest = Invitation.objects.filter(sent_at__isnull=False, expires_at__gt=now).aggregate(
        first=Min("sent_at")
    )["first"]
    today = timezone.localdate(now)
    return min(timezone.localdate(earliest), today) if earliest else today


def state() -> AnswerCountState | None:
    """The counts' state if they may be read: built, and in the current time zone."""
    found = AnswerCountState.objects.filter(pk=STATE_PK).first()
    if found is None or found.settled_before is None or found.time_zone != timezone.get_current_timezone_name():
        return None
    return found


def rebuild(*, now: datetime | None = None) -> AnswerCountState:
    """Counts every settled day again, in one transaction; concurrent rebuilds queue on
    the state row, so none counts an answer twice."""
    now = now or timezone.now()
    AnswerCountState.objects.get_or_create(pk=STATE_PK)
    with transaction.atomic():
        current = AnswerCountState.objects.select_for_update().get(pk=STATE_PK)
        cutoff = settled_before(now=now)
        AnswerCount.objects.all().delete()
        _insert_counts(before=midnight(cutoff))
        current.settled_before = cutoff
        current.built_at = now
        current.time_zone = timezone.get_current_timezone_name()
        current.save()
    logger.info("Answer counts rebuilt for the days before %s", cutoff)
    return current


def _insert_counts(*, before: datetime) -> None:
    """INSERT … SELECT: the counting happens in the database, whatever the number of answers."""
    counted = (
        Response.objects.filter(is_suspect=False, submitted_at__lt=before)
        .annotate(day=TruncDate("submitted_at"))
        .values("survey", "customer__tier", "customer__account_manager", "band", "day")
        .annotate(answers=Count("pk"))
        .order_by()
    )
    select, params = counted.query.sql_with_params()
    # The SELECT lists the grouped fields, then the annotations, each in the order given.
    columns = "survey_id, tier, account_manager_id, band, day, answers"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {AnswerCount._meta.db_table} ({columns}) {select}", params)


def refresh(*, now: datetime | None = None) -> bool:
    """Rebuilds when the counts are missing or out of date; True if it did."""
    now = now or timezone.now()
    current = state()
    if current is None or _out_of_date(current, now=now):
        rebuild(now=now)
        return True
    return False


def _out_of_date(current: AnswerCountState, *, now: datetime) -> bool:
    if settled_before(now=now) > current.settled_before:
        return True  # a new day has settled
    changed = Customer.objects.aggregate(edited=Max("updated_at"), measured=Max("metrics_updated_at"))
    if any(moment and moment > current.built_at for moment in changed.values()):
        return True  # a tier or an account manager may have changed
    counted = AnswerCount.objects.aggregate(answers=Sum("answers"))["answers"] or 0
    answers = Response.objects.filter(is_suspect=False, submitted_at__lt=midnight(current.settled_before)).count()
    return counted != answers  # answers deleted with their customer


def midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))

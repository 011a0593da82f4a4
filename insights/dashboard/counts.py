"""Answers counted ahead of time, so that long periods do not mean reading every answer.

An answer can change (be revised, turn suspect, be confirmed) only until its invitation
expires, and every version of it comes after the invitation was sent. Every day before
the earliest day on which a still-open invitation was sent is therefore *settled*: its
answers are final. `rebuild` counts the settled days into AnswerCount by day, survey,
tier, account manager and band, in one INSERT … SELECT, sums them over whole settled
months and week parts (SpanAnswerCount), and counts the days after (a fortnight
or so) into RecentAnswerCount, which every saved answer then keeps current with one
upsert (`answer_saved`, from Response's post_save; a changed answer also takes its
earlier version out). The invitations sent on each day before the rebuild's go into
InvitationCount (sent, answered), and the settled ones' sums over whole months and week
parts into SpanInvitationCount: a settled day's invitations are all closed, so only the
days after can still be answered; an invitation answered later adds itself to its day
(`invitation_answered`, from surveys' signal of that name), and those sent since the
rebuild are read from the invitations themselves (a day's worth at most).

So the figures read counts only: settled days from AnswerCount, the days after from
RecentAnswerCount, and an answer given or revised a second ago is counted at once.

What can still change a settled day's counts is outside the answers: a customer moving
tier or account manager, or deleted with its answers, or another TIME_ZONE. `refresh`,
run by beat every five minutes, rebuilds when any of those happened, a new day began,
or the counts disagree with the answers; until then the figures keep the attribution
of the last rebuild.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Model, Q, QuerySet, Sum
from django.db.models import CharField, Value
from django.db.models.functions import Greatest, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from customers.models import Contact, Customer
from surveys.models import Delivery, Invitation, InvitationStatus, Response

from ..models import (
    AnswerCount,
    AnswerCountSpan,
    AnswerCountState,
    InvitationCount,
    RecentAnswerCount,
    SpanAnswerCount,
    SpanInvitationCount,
)

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
        SpanAnswerCount.objects.all().delete()
        RecentAnswerCount.objects.all().delete()
        InvitationCount.objects.all().delete()
        SpanInvitationCount.objects.all().delete()
        _insert_counts(before=midnight(cutoff))
        _insert_invitation_counts(before=midnight(timezone.localdate(now)))
        _insert_span_counts(settled_before=cutoff)
        _insert_recent_counts(since=midnight(cutoff))
        current.settled_before = cutoff
        current.built_at = now
        current.time_zone = timezone.get_current_timezone_name()
        current.save()
    logger.info("Answer counts rebuilt for the days before %s", cutoff)
    return current


def _counted(answers: QuerySet[Response]) -> tuple[str, list]:
    """The answers grouped as the counts hold them, as SQL: its columns are survey,
    customer__tier, customer__account_manager, band, day, answers (the grouped fields,
    then the annotations, each in the order given)."""
    counted = (
        answers.filter(is_suspect=False)
        .annotate(day=TruncDate("submitted_at"))
        .values("survey", "customer__tier", "customer__account_manager", "band", "day")
        .annotate(answers=Count("pk"))
        .order_by("day")  # a day's rows side by side on disk: a period reads few pages
    )
    return counted.query.sql_with_params()


def _insert_counts(*, before: datetime) -> None:
    """INSERT … SELECT: the counting happens in the database, whatever the number of answers."""
    select, params = _counted(Response.objects.filter(submitted_at__lt=before))
    columns = "survey_id, tier, account_manager_id, band, day, answers"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {AnswerCount._meta.db_table} ({columns}) {select}", params)  # nosec B608


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def week_part(day: date) -> tuple[date, date]:
    """The first and last day of the week part holding `day`: its week (Monday to
    Sunday) cut at the month's edges."""
    monday = day - timedelta(days=day.weekday())
    return max(monday, month_start(day)), min(monday + timedelta(days=6), month_end(day))


@dataclass(frozen=True)
class Cover:
    """Days `first` to `last` as the fewest count rows read them: whole months (when
    `months`), then whole week parts, then the days left at the ends."""

    months: list[date]
    week_parts: list[date]
    days: list[date]


def cover(first: date, last: date, *, months: bool) -> Cover:
    found = Cover([], [], [])
    day = first
    while day <= last:
        if months and day.day == 1 and month_end(day) <= last:
            found.months.append(day)
            day = month_end(day) + timedelta(days=1)
            continue
        part_start, part_end = week_part(day)
        if part_start == day and part_end <= last:
            found.week_parts.append(day)
            day = part_end + timedelta(days=1)
            continue
        found.days.append(day)
        day += timedelta(days=1)
    return found


def _insert_span_counts(*, settled_before: date) -> None:
    """The settled days' counts summed over each whole month and week part settled: the
    answers (SpanAnswerCount) and the invitations (SpanInvitationCount)."""
    _insert_spans(AnswerCount, SpanAnswerCount, keys=("survey", "tier", "account_manager", "band"),
                  sums=("answers",), settled_before=settled_before)
    _insert_spans(InvitationCount, SpanInvitationCount, keys=("survey", "tier", "account_manager"),
                  sums=("sent", "answered"), settled_before=settled_before)


def _insert_spans(days: type[Model], spans: type[Model], *, keys: tuple[str, ...], sums: tuple[str, ...],
                  settled_before: date) -> None:
    """INSERT … SELECT into `spans` of the `days` rows before `settled_before`, by `keys`,
    each column in `sums` summed."""
    starts = {
        AnswerCountSpan.MONTH: (TruncMonth("day"), month_start(settled_before)),
        AnswerCountSpan.WEEK_PART: (Greatest(TruncWeek("day"), TruncMonth("day")), week_part(settled_before)[0]),
    }
    key_columns = [days._meta.get_field(key).column for key in keys]
    columns = ", ".join(["span", *key_columns, "start", *sums])
    for span, (start, before) in starts.items():
        summed = (
            days.objects.filter(day__lt=before)
            .annotate(span=Value(span.value, output_field=CharField()), start=start)
            .values("span", *keys, "start")
            .annotate(**{f"total_{name}": Sum(name) for name in sums})
            .order_by("start")
        )
        select, params = summed.query.sql_with_params()
        totals = ", ".join(f"total_{name}" for name in sums)
        sql = (
            f"INSERT INTO {spans._meta.db_table} ({columns})"  # nosec B608: model names and ORM-compiled SQL
            f" SELECT span, {', '.join(keys)}, start, {totals} FROM ({select}) summed"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _insert_recent_counts(*, since: datetime) -> None:
    select, params = _counted(Response.objects.filter(submitted_at__gte=since))
    sql = (
        f"INSERT INTO {RecentAnswerCount._meta.db_table} (survey_id, tier_key, manager_key, band, day, answers)"  # nosec B608
        f" SELECT survey, COALESCE(customer__tier, 0), COALESCE(customer__account_manager, 0), band, day, answers"
        f" FROM ({select}) counted"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# One answer in or out of its day's count: the customer's tier and manager as they stand.
ADD_ANSWER = f"""
INSERT INTO {RecentAnswerCount._meta.db_table} (day, survey_id, tier_key, manager_key, band, answers)
SELECT %s, %s, COALESCE(tier, 0), COALESCE(account_manager_id, 0), %s, %s
FROM {Customer._meta.db_table} WHERE id = %s
ON CONFLICT (day, survey_id, tier_key, manager_key, band)
DO UPDATE SET answers = {RecentAnswerCount._meta.db_table}.answers + excluded.answers
"""  # nosec B608: table names from the models, values as parameters


@dataclass(frozen=True)
class Counted:
    """What an answer counted as: its day, survey and band (None: not counted, suspect)."""

    day: date
    survey_id: int
    band: str

    @classmethod
    def of(cls, response: Response) -> Counted | None:
        if response.is_suspect:
            return None
        return cls(timezone.localdate(response.submitted_at), response.survey_id, response.band)


def counted_before(response: Response) -> Counted | None:
    """From Response's pre_save: what a changed answer counted as until now (one read;
    nothing for a new answer)."""
    if response._state.adding or response.pk is None:
        return None
    stored = Response.objects.filter(pk=response.pk).first()
    return Counted.of(stored) if stored else None


def answer_saved(response: Response, *, before: Counted | None) -> None:
    """From Response's post_save: one upsert for a new answer; a changed one also takes
    out what it counted as before."""
    now = Counted.of(response)
    if now == before:
        return
    with connection.cursor() as cursor:
        for counted, step in ((before, -1), (now, 1)):
            if counted:
                cursor.execute(ADD_ANSWER, add_answer_params(counted, step=step, customer_id=response.customer_id))


def add_answer_params(counted: Counted, *, step: int, customer_id: int) -> list:
    """ADD_ANSWER's parameters: `counted` in (step 1) or out (-1) of its day's count."""
    day = connection.ops.adapt_datefield_value(counted.day)
    return [day, counted.survey_id, counted.band, step, customer_id]


def _null_safe_equal() -> str:
    return "IS" if connection.vendor == "sqlite" else "IS NOT DISTINCT FROM"


def invitation_answered(invitation: Invitation) -> None:
    """From surveys' invitation_answered, sent when an invitation turns answered: one UPDATE of its day's count,
    if that day is counted ahead (one sent since the rebuild is read as it stands)."""
    with connection.cursor() as cursor:
        cursor.execute(*invitation_answered_statement(invitation))


def invitation_answered_statement(invitation: Invitation) -> tuple[str, list]:
    """invitation_answered's UPDATE and its parameters."""
    table, same = InvitationCount._meta.db_table, _null_safe_equal()
    sql = (
        f"UPDATE {table} SET answered = answered + 1 WHERE id = ("  # nosec B608
        f" SELECT counted.id FROM {table} counted, {Contact._meta.db_table} contact"
        f" JOIN {Customer._meta.db_table} customer ON customer.id = contact.customer_id"
        f" WHERE contact.id = %s AND counted.day = %s AND counted.sent > counted.answered"
        f" AND counted.survey_id = (SELECT survey_id FROM {Delivery._meta.db_table} WHERE id = %s)"
        f" AND counted.tier {same} customer.tier AND counted.account_manager_id {same} customer.account_manager_id"
        f" LIMIT 1)"
    )
    day = connection.ops.adapt_datefield_value(timezone.localdate(invitation.sent_at))
    return sql, [invitation.contact_id, day, invitation.delivery_id]


def _insert_invitation_counts(*, before: datetime) -> None:
    """INSERT … SELECT of the invitations sent before `before`, as reach() counts them."""
    counted = (
        Invitation.objects.filter(sent_at__lt=before)
        .annotate(day=TruncDate("sent_at"))
        .values("delivery__survey", "contact__customer__tier", "contact__customer__account_manager", "day")
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(status=InvitationStatus.RESPONDED)))
        .order_by("day")
    )
    select, params = counted.query.sql_with_params()
    columns = "survey_id, tier, account_manager_id, day, sent, answered"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {InvitationCount._meta.db_table} ({columns}) {select}", params)  # nosec B608


def refresh(*, now: datetime | None = None) -> bool:
    """Rebuilds when the counts are missing or out of date; True if it did."""
    now = now or timezone.now()
    current = state()
    if current is None or _out_of_date(current, now=now):
        rebuild(now=now)
        return True
    return False


def _out_of_date(current: AnswerCountState, *, now: datetime) -> bool:
    if settled_before(now=now) > current.settled_before or timezone.localdate(now) > invitations_counted_before(current):
        return True  # a new day has settled, or begun
    changed = Customer.objects.aggregate(edited=Max("updated_at"), measured=Max("metrics_updated_at"))
    if any(moment and moment > current.built_at for moment in changed.values()):
        return True  # a tier or an account manager may have changed
    settled = midnight(current.settled_before)
    counted = AnswerCount.objects.aggregate(answers=Sum("answers"))["answers"] or 0
    if counted != Response.objects.filter(is_suspect=False, submitted_at__lt=settled).count():
        return True  # answers deleted with their customer
    recent = RecentAnswerCount.objects.filter(day__gte=current.settled_before).aggregate(answers=Sum("answers"))
    if (recent["answers"] or 0) != Response.objects.filter(is_suspect=False, submitted_at__gte=settled).count():
        return True  # answers written other than by a save, or deleted
    sent = InvitationCount.objects.aggregate(sent=Sum("sent"))["sent"] or 0
    if sent != Invitation.objects.filter(sent_at__lt=midnight(invitations_counted_before(current))).count():
        return True  # invitations deleted with their customer, or written other than by a send
    return not _spans_agree(current.settled_before)


def _spans_agree(settled_before: date) -> bool:
    """Whether the invitations' month and week-part rows sum to their days' rows."""
    ends = {AnswerCountSpan.MONTH: month_start(settled_before), AnswerCountSpan.WEEK_PART: week_part(settled_before)[0]}
    for span, before in ends.items():
        totals = (Sum("sent"), Sum("answered"))
        spans = SpanInvitationCount.objects.filter(span=span).aggregate(*totals)
        days = InvitationCount.objects.filter(day__lt=before).aggregate(*totals)
        if list(spans.values()) != list(days.values()):
            return False
    return True


def invitations_counted_before(current: AnswerCountState) -> date:
    """InvitationCount holds the invitations sent before this day: the rebuild's."""
    return timezone.localdate(current.built_at)


def midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))

"""Writes in the survey pipeline: deliveries in, invitations out, answers back."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import deliverability, erasure, outbox
from core.models import OutgoingMessage
from customers.models import Customer
from customers.services import ContactData, ensure_contacts, opt_out_contact

from . import first_answer, link_lookup, scheduling, windows
from .models import (
    SURVEYED_STATUSES,
    Delivery,
    Invitation,
    InvitationStatus,
    LinkPurpose,
    Response,
    ResponseRevision,
    SuppressedReason,
    SuspectReview,
    Survey,
    hash_token,
    link_token,
)
from .signals import invitation_answered, response_recorded
from .suspicion import Version, looks_automated

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Invitations handed to the outbox per short transaction.
SEND_BATCH_SIZE = 100


@dataclass(frozen=True)
class DeliveryData:
    customer: Customer
    reference: str
    delivered_at: datetime
    contact_email: str
    contact_name: str | None = None
    survey: Survey | None = None
    description: str = ""


@dataclass(frozen=True)
class RecordedDelivery:
    delivery: Delivery
    created: bool


def record_delivery(*, delivery: DeliveryData) -> RecordedDelivery:
    """Records one delivery as record_deliveries does."""
    (result,) = record_deliveries(deliveries=[delivery])
    return result


def record_deliveries(*, deliveries: Sequence[DeliveryData]) -> list[RecordedDelivery]:
    """Records deliveries and schedules (or suppresses) one invitation for each, in a
    few queries whatever their number. Results come in the order given.

    A delivery whose customer + reference exists already is answered with the existing
    one and changes nothing. A new one naming no survey takes the default survey
    (Survey.DoesNotExist when none is marked default: nothing is written). Locking the customers first makes two identical requests
    arriving together queue up: the second finds what the first wrote.
    """
    with transaction.atomic():
        customers = {
            customer.pk: customer
            for customer in Customer.objects.select_for_update()
            .filter(pk__in={data.customer.pk for data in deliveries})
            .order_by("pk")
            # is_active as it stands under the lock; external_id names the customer in API answers.
            .only("pk", "external_id", "is_active")
        }
        existing = _existing_deliveries(deliveries)
        new: dict[tuple[int, str], DeliveryData] = {}
        for data in deliveries:
            key = (data.customer.pk, data.reference)
            if key not in existing:
                new.setdefault(key, data)
        created = _create_deliveries(list(new.values()), customers=customers)
    results = []
    for data in deliveries:
        key = (data.customer.pk, data.reference)
        if key in created:
            results.append(RecordedDelivery(delivery=created.pop(key), created=True))
        else:
            results.append(RecordedDelivery(delivery=existing.get(key) or _recorded(key), created=False))
    return results


def _recorded(key: tuple[int, str]) -> Delivery:
    customer_id, reference = key
    return _with_invitation(Delivery.objects.filter(customer_id=customer_id)).get(reference=reference)


def _with_invitation(queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return queryset.select_related("customer", "contact", "survey", "invitation")


def _existing_deliveries(deliveries: Sequence[DeliveryData]) -> dict[tuple[int, str], Delivery]:
    keys = {(data.customer.pk, data.reference) for data in deliveries}
    candidates = _with_invitation(
        Delivery.objects.filter(
            customer_id__in={customer_id for customer_id, _ in keys},
            reference__in={reference for _, reference in keys},
        )
    )
    return {
        (delivery.customer_id, delivery.reference): delivery
        for delivery in candidates
        if (delivery.customer_id, delivery.reference) in keys
    }


def _create_deliveries(rows: list[DeliveryData], *, customers: dict[int, Customer]) -> dict[tuple[int, str], Delivery]:
    if not rows:
        return {}
    contacts = ensure_contacts(
        contacts=[
            ContactData(customer_id=data.customer.pk, email=data.contact_email, name=data.contact_name)
            for data in rows
        ]
    )
    default_survey = Survey.default() if any(data.survey is None for data in rows) else None
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                customer=data.customer,
                reference=data.reference,
                delivered_at=data.delivered_at,
                description=data.description,
                contact=contacts[(data.customer.pk, data.contact_email.lower())],
                survey=data.survey or default_survey,
            )
            for data in rows
        ],
        batch_size=1000,
    )
    for delivery, data in zip(deliveries, rows):
        delivery.customer = customers[data.customer.pk]
    _schedule_invitations(deliveries)
    return {(delivery.customer_id, delivery.reference): delivery for delivery in deliveries}


def _schedule_invitations(deliveries: list[Delivery]) -> None:
    """Plans one invitation per delivery, earliest first, so that of two deliveries to
    one contact inside the throttle window the later one is the one suppressed."""
    deliveries = sorted(deliveries, key=lambda delivery: delivery.delivered_at + delivery.survey.send_delay)
    widest = max(delivery.survey.throttle for delivery in deliveries)
    due_times = [delivery.delivered_at + delivery.survey.send_delay for delivery in deliveries]
    surveyed_at: dict[int, list[datetime]] = defaultdict(list)
    for contact_id, scheduled_for in Invitation.objects.filter(
        contact_id__in={delivery.contact_id for delivery in deliveries},
        status__in=SURVEYED_STATUSES,
        scheduled_for__gt=min(due_times) - widest,
        scheduled_for__lt=max(due_times) + widest,
    ).values_list("contact_id", "scheduled_for"):
        surveyed_at[contact_id].append(scheduled_for)

    invitations = []
    for delivery in deliveries:
        plan = scheduling.plan_invitation(
            delivered_at=delivery.delivered_at,
            survey=delivery.survey,
            customer_is_active=delivery.customer.is_active,
            contact_unreachable_reason=delivery.contact.unreachable_reason,
            contact_surveyed_at=surveyed_at[delivery.contact_id],
        )
        if plan.status == InvitationStatus.SCHEDULED:
            surveyed_at[delivery.contact_id].append(plan.scheduled_for)
        delivery.invitation = Invitation(
            delivery=delivery,
            contact=delivery.contact,
            status=plan.status,
            suppressed_reason=plan.suppressed_reason,
            scheduled_for=plan.scheduled_for,
            next_attempt_at=plan.next_attempt_at,
            expires_at=plan.expires_at,
        )
        invitations.append(delivery.invitation)
    Invitation.objects.bulk_create(invitations, batch_size=1000)


# --- Sending: invitations and reminders go out through the outbox (core.outbox and
# surveys/outbox.py, which builds each email at send time and records the outcome).

INVITATION_MESSAGE = "survey-invitation"
REMINDER_MESSAGE = "survey-reminder"


def send_due_invitations(*, now: datetime | None = None, batch_size: int = SEND_BATCH_SIZE) -> int:
    """Queues every invitation due by `now` (default: the current time) in the outbox,
    then sends what the outbox has due. Returns how many messages went out.

    Safe to run in any number of workers at once: invitations are claimed with row
    locks that other workers skip, and so are outbox rows."""
    now = now or timezone.now()
    if _sending_paused():
        return outbox.send_due(now=now)
    queue_due_invitations(now=now, batch_size=batch_size)
    return outbox.send_due(now=now)


def send_due_reminders(*, now: datetime | None = None, batch_size: int = SEND_BATCH_SIZE) -> int:
    """Queues the one reminder of every unanswered invitation whose reminder is due,
    then sends what the outbox has due."""
    now = now or timezone.now()
    if _sending_paused():
        return outbox.send_due(now=now)
    queue_due_reminders(now=now, batch_size=batch_size)
    return outbox.send_due(now=now)


def _sending_paused() -> bool:
    """Too many spam complaints paused survey emails (core.deliverability): they wait,
    scheduled, until staff resume; the outbox still sends everything else."""
    pause = deliverability.pause_in_force()
    if pause is not None:
        logger.warning("Survey emails are paused since %s: %s", pause.paused_at, pause.reason)
    return pause is not None


def queue_due_invitations(*, now: datetime, batch_size: int = SEND_BATCH_SIZE) -> int:
    """Hands due invitations to the outbox, a batch per short transaction. Each one's
    links are fixed here (their digests stored), so every email ever sent for it,
    retries included, carries the same working links.

    An invitation due outside its survey's sending window (in the customer's time zone)
    waits for the window to open. A survey with a daily cap hands over its most valuable
    customers' invitations first (tier, then revenue) up to the cap; the rest wait for
    the next day (in TIME_ZONE), never dropped."""
    due = Invitation.objects.filter(status=InvitationStatus.SCHEDULED, next_attempt_at__lte=now, expires_at__gt=now)
    capped = list(Survey.objects.filter(daily_cap__isnull=False).values_list("pk", flat=True))
    queued = sum(_queue_capped(due.filter(delivery__survey_id=pk), survey_id=pk, now=now, batch_size=batch_size)
                 for pk in capped)
    return queued + _queue_batches(
        lambda: _ready_to_queue(_claim_uncapped(now=now, capped=capped, batch_size=batch_size), now=now),
        mark=_mark_queued, kind=INVITATION_MESSAGE, now=now,
    )


# What queueing reads of a due invitation, table by table: its survey's sending window
# and its customer's time zone.
_CLAIM_READ = link_lookup.reading(
    (Invitation, "i", ("id", "delivery_id")),
    (Delivery, "d", ("id", "customer_id", "survey_id")),
    (Survey, "s", ("id", "send_days", "send_from", "send_until")),
    (Customer, "cu", ("id", "time_zone")),
)
_CLAIM_SQL = (
    f"SELECT {link_lookup.columns(_CLAIM_READ)}"  # nosec B608: names from the models, every value a parameter
    f" FROM {Invitation._meta.db_table} i"
    f" INNER JOIN {Delivery._meta.db_table} d ON d.id = i.delivery_id"
    f" INNER JOIN {Survey._meta.db_table} s ON s.id = d.survey_id"
    f" INNER JOIN {Customer._meta.db_table} cu ON cu.id = d.customer_id"
    " WHERE i.status = %s AND i.next_attempt_at <= %s AND i.expires_at > %s{not_capped}"
    " ORDER BY i.next_attempt_at LIMIT %s {for_update}"
)


def _claim_uncapped(*, now: datetime, capped: list[int], batch_size: int) -> list[Invitation]:
    """_claim(due.exclude(delivery__survey_id__in=capped).order_by("next_attempt_at"))[:batch_size]
    as one statement written once (link_lookup's way): the ORM compiled it and made four
    instances of every row, through every field of their models, for each batch."""
    not_capped = f" AND NOT (d.survey_id IN ({', '.join(['%s'] * len(capped))}))" if capped else ""
    for_update = (
        connection.ops.for_update_sql(skip_locked=True, of=("i",)) if connection.features.has_select_for_update else ""
    )
    sql = _CLAIM_SQL.format(not_capped=not_capped, for_update=for_update)
    params = [InvitationStatus.SCHEDULED, *_adapted([now, now]), *capped, batch_size]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        invitation, delivery, survey, customer = link_lookup.instances(row, _CLAIM_READ, using=connection.alias)
        Delivery.survey.field.set_cached_value(delivery, survey)
        Delivery.customer.field.set_cached_value(delivery, customer)
        Invitation.delivery.field.set_cached_value(invitation, delivery)
        claimed.append(invitation)
    return claimed


def _queue_capped(due: QuerySet[Invitation], *, survey_id: int, now: datetime, batch_size: int) -> int:
    by_value = due.order_by(
        F("delivery__customer__tier").asc(nulls_last=True), F("delivery__customer__revenue_12m").desc(), "pk"
    )
    zone = timezone.get_current_timezone()
    day_start, day_end = windows.day_bounds(now, zone=zone)
    queued = 0
    while True:
        with transaction.atomic():
            # One worker at a time counts and fills a survey's cap.
            survey = Survey.objects.select_for_update().get(pk=survey_id)
            used = Invitation.objects.filter(
                delivery__survey_id=survey_id, sent_at__gte=day_start, sent_at__lt=day_end
            ).count()
            room = survey.daily_cap - used
            if room <= 0:
                # The cap is reached: the rest wait for tomorrow, in value order then.
                due.update(next_attempt_at=windows.start_of_next_day(now, zone=zone))
                return queued
            ready = _ready_to_queue(list(_claim(by_value)[: min(room, batch_size)]), now=now)
            if ready is None:
                return queued
            _mark_queued(ready, now=now)
            outbox.queue_many(kind=INVITATION_MESSAGE, object_ids=ready, at=now)
        queued += len(ready)


def _claim(due: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return due.select_for_update(skip_locked=True, of=("self",)).select_related(
        "delivery__survey", "delivery__customer"
    ).only(
        "pk",
        "delivery__survey__send_days",
        "delivery__survey__send_from",
        "delivery__survey__send_until",
        "delivery__customer__time_zone",
    )


def _ready_to_queue(batch: list[Invitation], *, now: datetime) -> list[int] | None:
    """The invitations of `batch` inside their sending window; the others are moved to
    when it opens. None when the batch is empty."""
    if not batch:
        return None
    ready = []
    for invitation in batch:
        window = invitation.delivery.survey.send_window
        opens = now if window.is_always_open else window.next_open(now, zone=invitation.delivery.customer.zone)
        if opens > now:
            Invitation.objects.filter(pk=invitation.pk).update(next_attempt_at=opens)
        else:
            ready.append(invitation.pk)
    return ready


def queue_due_reminders(*, now: datetime, batch_size: int = SEND_BATCH_SIZE) -> int:
    due = (
        Invitation.objects.filter(status=InvitationStatus.SENT, remind_at__lte=now, expires_at__gt=now)
        .order_by("remind_at")
        .select_for_update(skip_locked=True, of=("self",))
        .only("pk")
    )
    return _queue_batches(
        lambda: [invitation.pk for invitation in due[:batch_size]] or None,
        mark=_mark_reminder_queued,
        kind=REMINDER_MESSAGE,
        now=now,
    )


def _queue_batches(claim: Callable[[], list[int] | None], *, mark, kind: str, now: datetime) -> int:
    """Hands what `claim` takes (inside a transaction; None when nothing is left) to
    the outbox, one short transaction a batch."""
    queued = 0
    while True:
        with transaction.atomic():
            ids = claim()
            if ids is None:
                return queued
            mark(ids, now=now)
            outbox.queue_many(kind=kind, object_ids=ids, at=now)
        queued += len(ids)


def _mark_queued(ids: list[int], *, now: datetime) -> None:
    # sent_at is when it was handed over; the outbox corrects it to when it left.
    _update_each(
        "status = %s, sent_at = %s, next_attempt_at = NULL, "
        "token_hash = given.survey_digest, unsubscribe_token_hash = given.unsubscribe_digest",
        [InvitationStatus.SENT, now],
        given={"survey_digest": "text", "unsubscribe_digest": "text"},
        rows={pk: (_link_digest(pk, LinkPurpose.SURVEY), _link_digest(pk, LinkPurpose.UNSUBSCRIBE)) for pk in ids},
    )


def _mark_reminder_queued(ids: list[int], *, now: datetime) -> None:
    _update_each(
        "remind_at = NULL, reminder_token_hash = given.reminder_digest", [],
        given={"reminder_digest": "text"},
        rows={pk: (_link_digest(pk, LinkPurpose.REMINDER),) for pk in ids},
    )


def _link_digest(invitation_id: int, purpose: str) -> str:
    return hash_token(link_token(invitation_id=invitation_id, purpose=purpose))


def _update_each(assignments: str, params: list, *, given: dict[str, str], rows: dict[int, tuple]) -> None:
    """UPDATE surveys_invitation SET `assignments` (with `params`) for each of `rows`: an
    invitation id and its own values, which `assignments` reads as given.<name>, named
    and typed (in PostgreSQL) by `given`. The sending path runs this for every batch.
    On PostgreSQL it is one statement, from arrays of the values (unnest): the server
    plans it once and the rows travel as a few parameters, where a statement a row (or
    the ORM's bulk_update, with its CASEs) cost several times more; elsewhere, one
    statement a row."""
    if not rows:
        return
    table = Invitation._meta.db_table
    rows = {pk: _adapted(values) for pk, values in rows.items()}
    params = _adapted(params)
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        arrays = ", ".join(f"%s::{type}[]" for type in given.values())
        source = f"unnest(%s::bigint[], {arrays}) AS given(id, {', '.join(given)})"
    else:
        source = "(SELECT %s AS id, " + ", ".join(f"%s AS {name}" for name in given) + ") AS given"
    # Only this module's own names and types are written into the SQL; every value is a parameter.
    sql = f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.id = given.id"  # nosec B608
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute(sql, [*params, list(rows), *(list(column) for column in zip(*rows.values(), strict=True))])
        else:
            cursor.executemany(sql, [[*params, pk, *values] for pk, values in rows.items()])


def _adapted(values) -> list:
    """`values` as the database takes them (datetimes adapted by the backend)."""
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(value) if isinstance(value, datetime) else value for value in values]


def expire_invitations(*, now: datetime | None = None) -> int:
    """Closes every invitation past its expiry, sent or not. Returns how many."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=[InvitationStatus.SCHEDULED, InvitationStatus.SENT], expires_at__lte=now
    ).update(status=InvitationStatus.EXPIRED, next_attempt_at=None, remind_at=None)


def unreachable_reason(invitation: Invitation) -> str:
    """Why the invitation's email must not go now, checked at send time: the contact
    opted out, complained or bounced since it was scheduled (a SuppressedReason of the
    same name), or the customer became inactive. Empty when it may go."""
    if invitation.contact.unreachable_reason:
        return invitation.contact.unreachable_reason
    if not invitation.delivery.customer.is_active:
        return SuppressedReason.INACTIVE_CUSTOMER
    return ""


def record_invitations_sent(*, sent_at: dict[int, datetime]) -> None:
    """The emails of these invitations left (invitation id: when): their times, and when
    each one's reminder is due (for an invitation still open and not yet reminded).
    Two statements whatever their number, one on PostgreSQL: the outbox tells this once
    a batch."""
    if not sent_at:
        return
    if connection.vendor == "postgresql":
        _record_sent_in_one_statement(sent_at)
        return
    reminders = Invitation.objects.filter(pk__in=sent_at).values_list(
        "pk", "delivery__survey__reminder_delay", "expires_at"
    )
    table = Invitation._meta.db_table
    _update_each(
        "sent_at = given.sent_at, send_attempts = 0, last_error = '', "
        f"remind_at = CASE WHEN {table}.status = %s AND {table}.reminded_at IS NULL THEN given.remind_at "
        f"ELSE {table}.remind_at END",
        [InvitationStatus.SENT],
        given={"sent_at": "timestamptz", "remind_at": "timestamptz"},
        rows={
            pk: (sent_at[pk],
                 scheduling.reminder_due_at(sent_at=sent_at[pk], reminder_delay=delay, expires_at=expires_at))
            for pk, delay, expires_at in reminders
        },
    )


_SENT_SQL = (
    # The reminder as scheduling.reminder_due_at computes it: sent_at + the survey's delay,
    # unless the link has closed by then. The session's time zone is UTC (Django's), so
    # adding an interval of days adds as many times 24 hours, as a timedelta does.
    "UPDATE {invitation} SET sent_at = given.sent_at, send_attempts = 0, last_error = '', "  # nosec B608
    "remind_at = CASE WHEN {invitation}.status = %s AND {invitation}.reminded_at IS NULL THEN "
    "(CASE WHEN given.sent_at + s.reminder_delay < {invitation}.expires_at THEN given.sent_at + s.reminder_delay END) "
    "ELSE {invitation}.remind_at END "
    "FROM unnest(%s::bigint[], %s::timestamptz[]) AS given(id, sent_at), {delivery} d, {survey} s "
    "WHERE {invitation}.id = given.id AND d.id = {invitation}.delivery_id AND s.id = d.survey_id"
).format(invitation=Invitation._meta.db_table, delivery=Delivery._meta.db_table, survey=Survey._meta.db_table)


def _record_sent_in_one_statement(sent_at: dict[int, datetime]) -> None:
    """record_invitations_sent as one UPDATE on PostgreSQL, each reminder computed in it
    from the survey's delay, where reading the delays first (the ORM compiling a join)
    cost a statement and more Python than the UPDATE."""
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, [InvitationStatus.SENT, list(sent_at), _adapted(sent_at.values())])


def record_reminders_sent(*, sent_at: dict[int, datetime]) -> None:
    """The reminders of these invitations left (invitation id: when)."""
    _update_each("reminded_at = given.reminded_at", [], given={"reminded_at": "timestamptz"},
                 rows={pk: (at,) for pk, at in sent_at.items()})


def record_invitation_not_sent(*, invitation_id: int, reason: str, error: str) -> None:
    """The email will not go: suppressed at send time (`reason`, a SuppressedReason), or
    failed for good (`error`). Either way it never left, so nothing counts it as sent."""
    if reason in SuppressedReason.values:
        status, suppressed_reason = InvitationStatus.SUPPRESSED, reason
    elif error:
        status, suppressed_reason = InvitationStatus.FAILED, ""
    else:
        return  # closed meanwhile (answered, expired): nothing to change
    Invitation.objects.filter(pk=invitation_id, status=InvitationStatus.SENT, response__isnull=True).update(
        status=status, suppressed_reason=suppressed_reason, sent_at=None, remind_at=None, last_error=error[:2000]
    )
    logger.warning("Invitation %s was not sent: %s", invitation_id, reason or error)


def retry_failed_invitations(*, invitations: QuerySet[Invitation], now: datetime | None = None) -> int:
    """Staff asked to send failed invitations again; the next sweep sends them."""
    now = now or timezone.now()
    return invitations.filter(status=InvitationStatus.FAILED, expires_at__gt=now).update(
        status=InvitationStatus.SCHEDULED, next_attempt_at=now, send_attempts=0
    )


# --- Answers


class InvitationClosed(Exception):
    """The invitation has expired (or never went out): it accepts no answer."""


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link token opens, from either of its emails, or None."""
    if not token or len(token) > 100:
        return None
    return link_lookup.invitation_with_digest(hash_token(token))


def invitation_for_unsubscribe_token(token: str) -> Invitation | None:
    """The invitation an unsubscribe link opens: its own token, or (emails sent before
    unsubscribe links had one) either survey token. Open whatever the expiry."""
    if not token or len(token) > 100:
        return None
    digest = hash_token(token)
    return (
        Invitation.objects.select_related("contact")
        .filter(Q(unsubscribe_token_hash=digest) | Q(token_hash=digest) | Q(reminder_token_hash=digest))
        .first()
    )


def record_response(
    *, invitation: Invitation, score: int, comment: str = "", now: datetime | None = None
) -> Response:
    """Records the respondent's answer, or replaces it (the earlier one is kept as a
    revision), and makes it the customer's latest answer. One response per invitation
    whatever the concurrency: the invitation row is locked first. Every change restarts
    the answer's quiet period and is judged for a machine's burst (see suspicion.py): a
    suspect answer is kept but marked, and the same answer given again after a quiet
    period, the way a person would, clears the mark."""
    now = now or timezone.now()
    customer_id = invitation.delivery.customer_id
    with transaction.atomic():
        response = _first_answer_as_read(invitation, customer_id=customer_id, score=score, comment=comment, now=now)
        if response is not None:
            transaction.on_commit(lambda: response_recorded.send(sender=Response, response_id=response.pk))
            return response
        # The invitation as it stands under its lock (the survey and the delivery do not
        # change), then its answer: read after the lock, so that of two answers arriving
        # together the second finds the first.
        invitation.status, invitation.sent_at, invitation.reminded_at, invitation.expires_at = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation.pk)
            .values_list("status", "sent_at", "reminded_at", "expires_at")
            .get()
        )
        if invitation.sent_at is None or invitation.is_expired(now):
            raise InvitationClosed
        # The customer's row next, before any rollup the answer moves: a first answer
        # takes it in its claim (its latest answer), then insights' rows, and two answers
        # of one customer taking them in opposite orders would each wait for the other.
        # As the UPDATE of its latest answer locks it (no key changes), so that a task
        # inserting an alert about the customer (a foreign key's share lock) never waits.
        Customer.objects.select_for_update(no_key=True).filter(pk=customer_id).values_list("pk").get()
        response = Response.objects.filter(invitation_id=invitation.pk).order_by().first()
        if response is None:
            Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.RESPONDED, remind_at=None)
            response = _new_answer(invitation, customer_id=customer_id, score=score, comment=comment, now=now)
            _write_first_answer(invitation, response)
            transaction.on_commit(lambda: response_recorded.send(sender=Response, response_id=response.pk))
            return response
        survey = invitation.survey
        emailed_at = (invitation.sent_at, invitation.reminded_at)
        if (response.score, response.comment) != (score, comment):
            versions = [*answer_versions(response), Version(score, now)]
            ResponseRevision.objects.create(
                response=response,
                score=response.score,
                band=response.band,
                comment=response.comment,
                submitted_at=response.submitted_at,
            )
            response.is_suspect = looks_automated(versions=versions, emailed_at=emailed_at)
            response.score, response.band, response.comment = score, survey.classify(score), comment
            response.revisions += 1
            _changed(response, now=now, fields=["score", "band", "comment", "revisions"])
        elif response.is_suspect and not looks_automated(
            versions=[*answer_versions(response), Version(score, now)], emailed_at=emailed_at
        ):
            # The same answer again after a quiet period, given the way a person would:
            # it confirms the suspect one, and is judged from now.
            response.is_suspect = False
            _changed(response, now=now, fields=[])
        else:
            return response  # the same answer again: nothing changes
        # A changed answer may stop being the customer's newest (a clock behind by a
        # moment on another server): worked out again from every answer.
        refresh_latest_answers(customer_ids=[customer_id])
        transaction.on_commit(lambda: response_recorded.send(sender=Response, response_id=response.pk))
    return response


def _first_answer_as_read(
    invitation: Invitation, *, customer_id: int, score: int, comment: str, now: datetime
) -> Response | None:
    """The common case: an invitation sent, open and unanswered as the caller read it
    (the token lookup) is claimed (marked answered, and locked until the transaction
    ends) and answered. A sent invitation has no answer: the one that answers it makes
    it responded in the same transaction. None, changing nothing, when it was not open
    as read or no longer stands as read (answered, reminded or closed meanwhile): the
    caller then reads it again under its lock."""
    if invitation.status != InvitationStatus.SENT or invitation.sent_at is None or invitation.is_expired(now):
        return None
    response = _new_answer(invitation, customer_id=customer_id, score=score, comment=comment, now=now)
    if first_answer.is_supported():
        # The claim, the answer and the customer's latest answer in one statement.
        if not first_answer.write(invitation, response):
            return None
        _answered(invitation, response)
        return response
    claimed = Invitation.objects.filter(
        pk=invitation.pk,
        status=InvitationStatus.SENT,
        sent_at=invitation.sent_at,
        reminded_at=invitation.reminded_at,
        expires_at=invitation.expires_at,
    ).update(status=InvitationStatus.RESPONDED, remind_at=None)
    if claimed != 1:
        return None
    _write_first_answer(invitation, response)
    return response


def _new_answer(invitation: Invitation, *, customer_id: int, score: int, comment: str, now: datetime) -> Response:
    """The invitation's first answer, unsaved, judged for a machine's click on its own."""
    survey = invitation.survey
    return Response(
        invitation=invitation,
        customer_id=customer_id,
        survey=survey,
        score=score,
        band=survey.classify(score),
        comment=comment,
        is_suspect=looks_automated(
            versions=[Version(score, now)], emailed_at=(invitation.sent_at, invitation.reminded_at)
        ),
        first_submitted_at=now,
        submitted_at=now,
    )


def _write_first_answer(invitation: Invitation, response: Response) -> None:
    """Inserts the first answer of an invitation marked answered already, and makes it
    the customer's latest answer. bulk_create, as first_answer.write, sends no
    post_save: receivers learn of a first answer from invitation_answered."""
    Response.objects.bulk_create([response])
    _set_latest_answer(customer_id=response.customer_id, answer=response)
    _answered(invitation, response)


def _answered(invitation: Invitation, response: Response) -> None:
    invitation.status, invitation.remind_at = InvitationStatus.RESPONDED, None
    invitation_answered.send(sender=Invitation, invitation=invitation, response=response)


def _set_latest_answer(*, customer_id: int, answer: Response) -> None:
    """A new answer becomes the customer's latest unless a later one is there already:
    the newest by submitted_at, then id, as refresh_latest_answers picks it, set from
    the answer in hand instead of searched for."""
    Customer.objects.filter(
        Q(latest_answer_at__isnull=True) | Q(latest_answer_at__lte=answer.submitted_at), pk=customer_id
    ).update(latest_score=answer.score, latest_band=answer.band, latest_answer_at=answer.submitted_at)


def answer_versions(response: Response) -> list[Version]:
    """Every version of the answer, oldest first: its revisions, then the standing one."""
    earlier = response.history.order_by("submitted_at", "pk").values_list("score", "submitted_at")
    return [*(Version(score, at) for score, at in earlier), Version(response.score, response.submitted_at)]


def _changed(response: Response, *, now: datetime, fields: list[str]) -> None:
    """Saves an answer that changed at `now`: its quiet period starts again, it waits for
    evaluation, and a decision about it as a possible scanner no longer holds."""
    response.submitted_at = now
    response.needs_evaluation = True
    response.suspect_review, response.suspect_reviewed_by, response.suspect_reviewed_at = "", None, None
    response.save(
        update_fields=[
            *fields,
            "is_suspect",
            "submitted_at",
            "needs_evaluation",
            "suspect_review",
            "suspect_reviewed_by",
            "suspect_reviewed_at",
        ]
    )


class AnswerAlreadyReviewed(Exception):
    """The possible scanner was confirmed or dismissed already, or its answer changed."""


def review_suspect_answer(
    *, response_id: int, user: AbstractBaseUser, confirmed: bool, now: datetime | None = None
) -> Response:
    """The account manager's decision about a suspect answer (a possible scanner).
    Confirmed: a person answered; the mark goes and the answer waits for evaluation
    like any other (insights raises its alert). Dismissed: a machine; it stays suspect,
    counted nowhere, and is never evaluated. Raises AnswerAlreadyReviewed when someone
    decided first (or the answer is no longer suspect)."""
    now = now or timezone.now()
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .filter(pk=response_id, is_suspect=True, suspect_review="")
            .first()
        )
        if response is None:
            raise AnswerAlreadyReviewed("This answer was already confirmed or dismissed.")
        response.suspect_review = SuspectReview.CONFIRMED if confirmed else SuspectReview.DISMISSED
        response.suspect_reviewed_by = user
        response.suspect_reviewed_at = now
        response.is_suspect = not confirmed
        response.needs_evaluation = confirmed
        response.save(
            update_fields=["suspect_review", "suspect_reviewed_by", "suspect_reviewed_at", "is_suspect", "needs_evaluation"]
        )
    return response


def unsubscribe(*, invitation: Invitation) -> None:
    """Opts the invitation's contact out of surveys for good, and suppresses whatever
    is still scheduled for them. Doing it twice changes nothing."""
    with transaction.atomic():
        opt_out_contact(contact=invitation.contact)
        Invitation.objects.filter(contact=invitation.contact, status=InvitationStatus.SCHEDULED).update(
            status=InvitationStatus.SUPPRESSED, suppressed_reason=SuppressedReason.OPTED_OUT, next_attempt_at=None
        )


def forget_contact(*, contact_id: int, email: str, replacement: str) -> None:
    """What surveys keeps of a contact erased on request (customers.services.erase_contact),
    inside its transaction: every comment they wrote, the answer's and each revision's,
    is blanked, while scores, bands and times stay (every figure keeps them, anonymous);
    every link of their invitations stops opening (an unknown link: 404); what was
    still to go is suppressed, and an email already handed to the outbox finds them
    opted out when it is built, and does not go. Their address is forgotten in the
    outbox rows of their invitations and in the invitations' errors."""
    invitations = Invitation.objects.filter(contact_id=contact_id)
    Response.objects.filter(invitation__contact_id=contact_id).exclude(comment="").update(comment="")
    ResponseRevision.objects.filter(response__invitation__contact_id=contact_id).exclude(comment="").update(comment="")
    invitations.filter(status__in=[InvitationStatus.SCHEDULED, InvitationStatus.FAILED]).update(
        status=InvitationStatus.SUPPRESSED, suppressed_reason=SuppressedReason.OPTED_OUT, next_attempt_at=None
    )
    invitations.update(token_hash=None, reminder_token_hash=None, unsubscribe_token_hash=None, remind_at=None)
    for pk, error in invitations.exclude(last_error="").values_list("pk", "last_error"):
        Invitation.objects.filter(pk=pk).update(last_error=erasure.redact(error, email, replacement))
    messages = OutgoingMessage.objects.filter(
        kind__in=[INVITATION_MESSAGE, REMINDER_MESSAGE], object_id__in=invitations.values("pk")
    )
    erasure.forget_address(address=email, replacement=replacement, messages=messages)


def refresh_latest_answers(*, customer_ids: Sequence[int] | None = None) -> int:
    """Copies each customer's most recent answer onto the customer (latest_score,
    latest_band, latest_answer_at), all customers when `customer_ids` is None."""
    latest = Response.objects.filter(customer=OuterRef("pk")).order_by("-submitted_at", "-pk")

    def newest(field: str) -> Subquery:
        return Subquery(latest.values(field)[:1])

    customers = Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    return customers.update(
        latest_score=newest("score"),
        latest_band=Coalesce(newest("band"), Value("")),
        latest_answer_at=newest("submitted_at"),
    )

"""Writes about alerts: raising them from answers and from customers we can no longer
reach, working them, escalating them."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from core import audit, erasure, outbox, retry
from core.models import OutgoingMessage
from customers.models import CX_LEADS_GROUP, Contact, Customer
from customers.queries import LOST_TO_DELIVERY, REACHABLE, unreachable_since
from surveys import services as survey_services
from surveys.models import Response, SuspectReview
from surveys.suspicion import quiet_period, scores_seen, settled_before

from ..models import Alert, AlertKind, AlertNote, AlertStatus, AtRiskClosure, NoteKind
from . import queries, rules, webhooks

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The outbox's kinds of alert email (insights/outbox.py builds them).
NOTIFICATION_MESSAGE = "alert-notification"
ESCALATION_MESSAGE = "alert-escalation"

# Answers evaluated per sweep transaction.
EVALUATION_BATCH_SIZE = 200
# Customers (and alerts) the unreachable sweep looks at each time; the next takes the rest.
UNREACHABLE_SWEEP_BATCH = 500


class AlertChangeError(Exception):
    """A change the alert's state does not allow; the message says why, for the user."""


def awaiting_evaluation(*, now: datetime | None = None) -> QuerySet[Response]:
    """Answers recorded or changed since they were last evaluated, and quiet since for the
    quiet period (surveys.suspicion). Suspect answers (possible scanners) wait for a
    person: the respondent answering again, or the account manager confirming."""
    settled = settled_before(now or timezone.now())
    return Response.objects.filter(needs_evaluation=True, is_suspect=False, submitted_at__lte=settled)


def score_before(
    *, customer_id: int | OuterRef, first_submitted_at: datetime | OuterRef
) -> QuerySet:
    """The customer's last score before an answer first given at `first_submitted_at`,
    as a query of at most one score: that of their answer first given latest before it
    (of two first given at one moment, the one recorded last), suspect or not. OuterRef()s
    for the arguments ask it of every answer of an outer query at once."""
    return (
        Response.objects.filter(customer_id=customer_id, first_submitted_at__lt=first_submitted_at)
        .order_by("-first_submitted_at", "-pk")
        .values_list("score", flat=True)[:1]
    )


def previous_score(*, response: Response) -> int | None:
    """The customer's answer before this one (by when each was first given): the score
    an alert's "change from the last score" compares with."""
    return score_before(customer_id=response.customer_id, first_submitted_at=response.first_submitted_at).first()


def evaluate_response(*, response_id: int, now: datetime | None = None) -> list[Alert]:
    """Raises the alert an answer calls for, once it has been quiet for its period, or
    brings the alert it raised up to date with the answer as it stands now (see
    _follow_answer). Safe to run twice or concurrently (task and sweep racing): the
    answer's row is locked and its needs_evaluation flag says whether work is left.

    Answers still changing, and suspect ones, wait (see awaiting_evaluation). Returns
    the alerts raised by this call."""
    now = now or timezone.now()
    with transaction.atomic():
        response = (
            awaiting_evaluation(now=now)
            .select_for_update(of=("self",))
            .select_related("customer", "suspect_reviewed_by")
            .filter(pk=response_id)
            .first()
        )
        if response is None:
            return []
        before = previous_score(response=response)
        wanted = rules.kinds_to_raise(
            band=response.band, score=response.score, previous_score=before, tier=response.customer.tier
        )
        existing = list(response.alerts.all())
        raised = []
        if existing:
            taken = {alert.kind for alert in existing}
            for alert in existing:
                _follow_answer(alert, response=response, previous=before, wanted=wanted, taken=taken, now=now)
        else:
            raised = [_raise_alert(response=response, kind=kind, previous=before, now=now) for kind in wanted]
        Response.objects.filter(pk=response.pk).update(needs_evaluation=False)
    return raised


# How early a worker may find an answer it was queued for (its clock a little behind the
# web process's, the broker's timer a hair early) and wait for it to settle.
EARLY_BY_AT_MOST = timedelta(seconds=2)


def evaluate_and_notify(*, response_id: int, now: datetime | None = None) -> list[Alert]:
    """The task queued when an answer is recorded, run once its quiet period is over:
    evaluates it (evaluate_response) and sends the new alerts' emails at once, from this
    worker, rather than leaving them to the outbox's next task or sweep. An answer found
    a moment short of settled is waited for; one changed since (its quiet period begun
    again) has a task of its own."""
    now = now or timezone.now()
    settles_at = (
        Response.objects.filter(pk=response_id, needs_evaluation=True, is_suspect=False)
        .values_list("submitted_at", flat=True).first()
    )
    if settles_at is not None and timedelta(0) < settles_at + quiet_period() - now <= EARLY_BY_AT_MOST:
        wait = settles_at + quiet_period() - now
        time.sleep(wait.total_seconds())
        now += wait
    alerts = evaluate_response(response_id=response_id, now=now)
    if alerts:
        outbox.send_now([notification_key(alert) for alert in alerts])
    return alerts


def _raise_alert(*, response: Response, kind: str, previous: int | None, now: datetime) -> Alert:
    customer = response.customer
    assignee = rules.assignee_for(customer=customer)
    alert = rules.new_alert(
        response_id=response.pk,
        survey_id=response.survey_id,
        customer_id=customer.pk,
        kind=kind,
        tier=customer.tier,
        revenue_12m=customer.revenue_12m,
        on_time_rate=customer.on_time_rate,
        score=response.score,
        previous_score=previous,
        assignee_id=assignee.pk if assignee is not None else None,
        created_at=now,
    )
    alert.webhook_next_attempt_at = now if settings.ALERT_WEBHOOK_URL else None
    alert.save()
    if response.suspect_review == SuspectReview.CONFIRMED:
        AlertNote.objects.create(
            alert=alert,
            author=response.suspect_reviewed_by,
            kind=NoteKind.CONFIRMED,
            created_at=now,
            text=rules.confirmed_note(scores_seen(survey_services.answer_versions(response))),
        )
    _raised(alert)
    return alert


def _raised(alert: Alert) -> None:
    """Tells people of a new alert, in the transaction that saved it: the assignee's
    email in the outbox, the webhook once committed."""
    logger.info(
        "Raised %s alert %s for customer %s (priority %s)", alert.kind, alert.pk, alert.customer_id, alert.priority
    )
    queue_notification(alert)
    if alert.webhook_next_attempt_at is not None:
        queue_webhook(alert)


def _follow_answer(
    alert: Alert, *, response: Response, previous: int | None, wanted: list[str], taken: set[str], now: datetime
) -> None:
    """The alert follows its answer as it stands now: score, previous score, kind and so
    priority (an at-risk answer changed to a sharp fall becomes a decline alert, and back),
    and whether the answer still calls for it at all. A changed score goes into the
    history; an answer that no longer calls for the alert says so, and the alert stays
    open: resolving it is a person's decision."""
    before = (alert.score, alert.previous_score, alert.kind, alert.answer_recovered_at is not None)
    changed_from = alert.score
    kind = wanted[0] if wanted else alert.kind
    if kind != alert.kind and kind not in taken:
        taken.discard(alert.kind)
        taken.add(kind)
        alert.kind = kind
        alert.priority = rules.priority_for(tier=alert.tier, kind=kind)
    alert.score, alert.previous_score = response.score, previous
    alert.answer_recovered_at = (alert.answer_recovered_at or now) if not wanted else None
    if (alert.score, alert.previous_score, alert.kind, alert.answer_recovered_at is not None) == before:
        return
    alert.save(update_fields=["score", "previous_score", "kind", "priority", "answer_recovered_at"])
    if changed_from != response.score or alert.kind != before[2]:
        AlertNote.objects.create(
            alert=alert,
            kind=NoteKind.REVISED,
            created_at=now,
            text=rules.change_note(
                alert,
                changed_from=changed_from,
                band_label=response.get_band_display().lower(),
                kind_changed=alert.kind != before[2],
            ),
        )


def evaluate_pending(*, now: datetime | None = None, batch_size: int = EVALUATION_BATCH_SIZE) -> int:
    """The sweep: evaluates every answer whose quiet period has passed and that is still
    waiting (its task not run yet, a lost task message, an answer recorded while the
    broker was down). Returns how many alerts it raised."""
    now = now or timezone.now()
    raised = 0
    while True:
        pending = list(
            awaiting_evaluation(now=now)
            .order_by("submitted_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        for response_id in pending:
            raised += len(evaluate_response(response_id=response_id, now=now))
        if len(pending) < batch_size:
            return raised


# --- Possible scanners: suspect answers a person decides about


def confirm_possible_scanner(*, response_id: int, user: AbstractBaseUser, now: datetime | None = None) -> list[Alert]:
    """A person answered after all: the answer loses its mark and its alert is raised on
    the latest score (once its quiet period has passed; at once, nearly always), with the
    confirmation in its history. Returns the alerts raised."""
    now = now or timezone.now()
    with transaction.atomic():
        survey_services.review_suspect_answer(response_id=response_id, user=user, confirmed=True, now=now)
        return evaluate_response(response_id=response_id, now=now)


def dismiss_possible_scanner(*, response_id: int, user: AbstractBaseUser, now: datetime | None = None) -> None:
    """A machine's clicks: the answer stays suspect, counted nowhere, and leaves the list."""
    survey_services.review_suspect_answer(response_id=response_id, user=user, confirmed=False, now=now)


# --- Customers we can no longer reach


def raise_unreachable_alert(*, customer_id: int) -> Alert | None:
    """Raises an unreachable alert when a tier 1–2 customer has no contact left that a
    survey can reach (queries.unreachable_customers), once each time it comes to that:
    not again after one raised since, and not beside one still being worked (its
    history says it instead). Safe to run twice or concurrently (task and sweep
    racing): the customer's row is locked, and a database constraint allows one
    unreachable alert being worked per customer. Returns the alert this call raised."""
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("account_manager")
            .filter(pk=customer_id)
            .first()
        )
        if customer is None:
            return None
        since = (
            queries.unreachable_customers().filter(pk=customer_id).values_list("unreachable_since", flat=True).first()
        )
        if since is None:
            return None  # reachable, or not a customer this rule is about
        alerts = Alert.objects.filter(customer=customer, kind=AlertKind.UNREACHABLE)
        if alerts.filter(created_at__gte=since).exists():
            return None
        lost = _last_lost_contact(customer)
        being_worked = alerts.filter(status__in=queries.UNRESOLVED).first()
        if being_worked is not None:
            _note_unreachable_again(being_worked, lost=lost, since=since)
            return None
        assignee = rules.assignee_for(customer=customer)
        now = timezone.now()
        alert = rules.new_unreachable_alert(
            customer_id=customer.pk,
            tier=customer.tier,
            revenue_12m=customer.revenue_12m,
            on_time_rate=customer.on_time_rate,
            assignee_id=assignee.pk if assignee is not None else None,
            created_at=now,
            lost_contact=lost,
        )
        alert.webhook_next_attempt_at = now if settings.ALERT_WEBHOOK_URL else None
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:
            return None  # raised by another worker a moment ago (where rows are not locked)
        _raised(alert)
    return alert


def _last_lost_contact(customer: Customer) -> Contact:
    """The contact whose bounce or complaint came last: the one the alert names."""
    return (
        Contact.objects.filter(LOST_TO_DELIVERY, customer=customer)
        .annotate(since=unreachable_since())
        .order_by(F("since").desc(nulls_last=True), "-pk")
        .first()
    )


def _note_unreachable_again(alert: Alert, *, lost: Contact, since: datetime) -> None:
    if alert.notes.filter(kind=NoteKind.UNREACHABLE, created_at__gte=since).exists():
        return
    words = rules.loss_words(email=lost.email, reason=rules.contact_loss(lost), at=lost.unreachable_since)
    AlertNote.objects.create(alert=alert, kind=NoteKind.UNREACHABLE, text=f"Unreachable again: {words}.")


def note_reachable_again(*, batch_size: int = UNREACHABLE_SWEEP_BATCH) -> int:
    """Notes on every unreachable alert still being worked whose customer has a contact
    surveys can reach again (an address re-enabled, a contact added or opted in), once.
    The alert stays for its assignee to resolve. Returns how many it noted."""
    noted = 0
    for alert in list(queries.reachable_again().order_by("pk")[:batch_size]):
        with transaction.atomic():
            _locked(alert)  # two sweeps at once note it once
            if not queries.reachable_again().filter(pk=alert.pk).exists():
                continue
            contacts = list(Contact.objects.filter(REACHABLE, customer_id=alert.customer_id).order_by("email", "pk"))
            AlertNote.objects.create(
                alert=alert,
                kind=NoteKind.REACHABLE,
                text=rules.reachable_again_note(contacts, raised_at=alert.created_at),
            )
        noted += 1
    return noted


def sweep_unreachable(*, batch_size: int = UNREACHABLE_SWEEP_BATCH) -> int:
    """The sweep: raises the unreachable alerts a lost message missed (a contact lost
    while the broker was down), and notes those whose customer can be surveyed again.
    Returns how many alerts it raised."""
    waiting = list(queries.awaiting_unreachable_alert().order_by("pk").values_list("pk", flat=True)[:batch_size])
    raised = sum(raise_unreachable_alert(customer_id=customer_id) is not None for customer_id in waiting)
    note_reachable_again(batch_size=batch_size)
    return raised


def forget_contact(*, customer_id: int, email: str, name: str) -> None:
    """What the alerts keep of a contact erased on request, inside the erasing
    transaction: an unreachable alert that named their address names no one (it reads
    "an erased contact"), and their address and name, where an alert's history repeats
    them, give way to those words. The alert's answer lost its comment with the answer
    itself; an alert email or webhook still to go is built from what is left."""
    alerts = Alert.objects.filter(customer_id=customer_id)
    alerts.filter(lost_contact_email__iexact=email).update(lost_contact_email="")
    mentions = Q(text__icontains=email) | (Q(text__contains=name.strip()) if name.strip() else Q(pk__in=[]))
    for note in AlertNote.objects.filter(mentions, alert__in=alerts).only("pk", "text"):
        text = erasure.redact_name(erasure.redact(note.text, email, rules.ERASED_CONTACT), name, rules.ERASED_CONTACT)
        if text != note.text:
            AlertNote.objects.filter(pk=note.pk).update(text=text)
            # The note's audit entries hold its words as first written.
            audit.redact(note, fields=["text"], object_repr=str(note))


# --- Working an alert


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def acknowledge(*, alert: Alert, user: AbstractBaseUser, note: str = "") -> Alert:
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status != AlertStatus.OPEN:
            raise AlertChangeError(f"This alert is already {alert.get_status_display().lower()}.")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["status", "acknowledged_at"])
        AlertNote.objects.create(alert=alert, author=user, kind=NoteKind.ACKNOWLEDGED, text=note)
    return alert


def resolve(*, alert: Alert, user: AbstractBaseUser, note: str) -> Alert:
    """Closes the alert; a resolution note saying what was done is required."""
    if not note.strip():
        raise AlertChangeError("Say how it was resolved: a resolution note is required.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status == AlertStatus.RESOLVED:
            raise AlertChangeError("This alert is already resolved.")
        now = timezone.now()
        alert.acknowledged_at = alert.acknowledged_at or now
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.save(update_fields=["status", "acknowledged_at", "resolved_at"])
        AlertNote.objects.create(alert=alert, author=user, kind=NoteKind.RESOLVED, text=note.strip())
    return alert


def add_note(*, alert: Alert, user: AbstractBaseUser, text: str) -> AlertNote:
    if not text.strip():
        raise AlertChangeError("A note needs some text.")
    return AlertNote.objects.create(alert=alert, author=user, kind=NoteKind.NOTE, text=text.strip())


def reassign(*, alert: Alert, user: AbstractBaseUser, assignee: AbstractBaseUser | None, reason: str) -> Alert:
    """Hands the alert to another person (None: the CX leads), saying why; they are
    emailed that `user` handed it over, and the reason."""
    if not reason.strip():
        raise AlertChangeError("Say why you hand it over: a reason is required.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.assignee_id == (assignee.pk if assignee else None):
            raise AlertChangeError("The alert is already theirs: choose someone else.")
        alert.assignee = assignee
        alert.handed_over_by = user
        alert.handover_reason = reason.strip()
        alert.notified_at = None
        alert.save(update_fields=["assignee", "handed_over_by", "handover_reason", "notified_at"])
        name = assignee.get_full_name() or assignee.get_username() if assignee else "the CX leads"
        AlertNote.objects.create(
            alert=alert, author=user, kind=NoteKind.REASSIGNED, text=f"Reassigned to {name}: {reason.strip()}"
        )
        queue_notification(alert)
    return alert


def reopen(*, alert: Alert, user: AbstractBaseUser, note: str) -> Alert:
    """Opens a resolved alert again, saying why. It comes back acknowledged (someone
    already looked at it), with its due time and escalation as they were."""
    if not note.strip():
        raise AlertChangeError("Say why it is reopened: a note is required.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status != AlertStatus.RESOLVED:
            raise AlertChangeError(f"Only a resolved alert can be reopened; this one is {alert.get_status_display().lower()}.")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.resolved_at = None
        alert.save(update_fields=["status", "resolved_at"])
        AlertNote.objects.create(alert=alert, author=user, kind=NoteKind.REOPENED, text=note.strip())
    return alert


def acknowledge_many(*, alerts: QuerySet[Alert], user: AbstractBaseUser) -> int:
    """Acknowledges every open alert of `alerts` (the caller limits it to what the user
    may work); one acknowledged or resolved meanwhile is left as it is. Returns how
    many it acknowledged."""
    acknowledged = 0
    for alert in alerts.filter(status=AlertStatus.OPEN).order_by("pk"):
        try:
            acknowledge(alert=alert, user=user)
        except AlertChangeError:
            continue
        acknowledged += 1
    return acknowledged


def close_at_risk(*, customer: Customer, user: AbstractBaseUser, reason: str) -> AtRiskClosure:
    """Takes a customer off the customers at risk (queries.customers_at_risk) for their
    latest stable answer, saying why. Staff only: the caller checks."""
    if not reason.strip():
        raise AlertChangeError("Say why it is closed: a reason is required.")
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()  # two closes at once: one row
        answer = queries.customers_at_risk().filter(pk=customer.pk).values_list("at_risk_answer", flat=True).first()
        if answer is None:
            raise AlertChangeError(f"{customer.name} is not among the customers at risk (any more).")
        return AtRiskClosure.objects.create(customer=customer, response_id=answer, closed_by=user, reason=reason.strip())


def escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalates, once, every open alert not acknowledged by its due time: marks it
    overdue and tells the CX leads. Returns how many."""
    now = now or timezone.now()
    escalated = 0
    with transaction.atomic():
        overdue = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(status=AlertStatus.OPEN, escalated_at__isnull=True, due_at__lte=now)
            .order_by("due_at")
        )
        for alert in overdue:
            alert.escalated_at = now
            alert.save(update_fields=["escalated_at"])
            AlertNote.objects.create(
                alert=alert,
                kind=NoteKind.ESCALATED,
                created_at=now,
                text=rules.escalation_note(due_at=alert.due_at),
            )
            outbox.queue(kind=ESCALATION_MESSAGE, object_id=alert.pk)
            escalated += 1
    return escalated


# --- Telling people


def cx_leads() -> QuerySet:
    """The active members of the CX leads group: they work the alerts of customers
    without an active account manager (see alerts.assignee_for), and hear of escalations."""
    return get_user_model().objects.filter(groups__name=CX_LEADS_GROUP, is_active=True).order_by("pk")


def cx_lead_addresses() -> list[str]:
    return list(cx_leads().exclude(email="").values_list("email", flat=True))


def notification_key(alert: Alert) -> str:
    """One notification per alert and assignee: a reassigned alert is told again, to
    the new assignee (or the CX leads: "cx-leads")."""
    return f"{NOTIFICATION_MESSAGE}:{alert.pk}:{alert.assignee_id or 'cx-leads'}"


def queue_notification(alert: Alert) -> None:
    """Queues the alert's email to its assignee in the outbox, in the caller's transaction."""
    outbox.queue(kind=NOTIFICATION_MESSAGE, object_id=alert.pk, key=notification_key(alert))


def notification_recipients(alert: Alert) -> list[str]:
    """The assignee, or the CX leads when it has none (or no address)."""
    assignee = alert.assignee
    return [assignee.email] if assignee and assignee.email else cx_lead_addresses()


def notify_pending() -> int:
    """The sweep: queues the emails of alerts that have none in the outbox (alerts raised
    before the outbox existed). Returns how many it queued."""
    queued = 0
    in_outbox = OutgoingMessage.objects.filter(object_id=OuterRef("pk"))
    for alert in Alert.objects.filter(notified_at__isnull=True).exclude(
        Exists(in_outbox.filter(kind=NOTIFICATION_MESSAGE))
    )[:500]:
        with transaction.atomic():
            queue_notification(alert)
        queued += 1
    for alert in Alert.objects.filter(escalated_at__isnull=False, escalation_notified_at__isnull=True).exclude(
        Exists(in_outbox.filter(kind=ESCALATION_MESSAGE))
    )[:500]:
        with transaction.atomic():
            outbox.queue(kind=ESCALATION_MESSAGE, object_id=alert.pk)
        queued += 1
    return queued


# --- The outgoing webhook: a kind of outbox message (insights/outbox.py registers it)

WEBHOOK_MESSAGE = "alert-webhook"


def queue_webhook(alert: Alert) -> None:
    """Queues the alert's webhook in the outbox, in the caller's transaction."""
    outbox.queue(kind=WEBHOOK_MESSAGE, object_id=alert.pk, at=alert.webhook_next_attempt_at)


def retry_webhooks(*, alerts: QuerySet[Alert]) -> int:
    """Staff asked to send the webhook of alerts it never reached (given up on, or raised
    while no URL was set) again; the next sweep sends them. Returns how many."""
    retried = 0
    for alert in alerts.filter(webhook_sent_at__isnull=True):
        with transaction.atomic():
            message = OutgoingMessage.objects.filter(kind=WEBHOOK_MESSAGE, object_id=alert.pk).first()
            if message is None:
                queue_webhook(alert)
            elif not outbox.requeue(message):
                continue  # still on its way
            Alert.objects.filter(pk=alert.pk).update(webhook_next_attempt_at=timezone.now(), webhook_attempts=0)
        retried += 1
    return retried


def deliver_webhook(message: OutgoingMessage) -> str:
    """POSTs the alert to settings.ALERT_WEBHOOK_URL. A failure raises outbox.TryAgain
    with the reason (never the URL: a Slack webhook URL's path is its secret), and the
    outbox tries again after 1, 2, 4 and 8 minutes."""
    url = settings.ALERT_WEBHOOK_URL
    if not url:
        raise outbox.Unwanted("no webhook is configured (ALERT_WEBHOOK_URL)")
    alert = Alert.objects.select_related("customer", "response").get(pk=message.object_id)
    message.recipient = webhooks.host_of(url)
    body = webhooks.encode(alert)
    try:
        webhooks.post(url, body, webhooks.headers_for(body, settings.ALERT_WEBHOOK_SECRET))
    except webhooks.DeliveryError as error:
        raise outbox.TryAgain(str(error)) from None
    logger.info("Sent the webhook for alert %s to %s (attempt %s)", alert.pk, message.recipient, message.attempts)
    return ""


def record_webhook_sent(message: OutgoingMessage) -> None:
    Alert.objects.filter(pk=message.object_id).update(
        webhook_sent_at=message.sent_at, webhook_attempts=message.attempts, webhook_next_attempt_at=None
    )


def record_webhook_failure(message: OutgoingMessage) -> None:
    """What staff read on the alert (admin filter "webhook"), and the log, with the host only."""
    retry_at = message.next_attempt_at if message.status == OutgoingMessage.Status.QUEUED else None
    outcome = f"next try at {retry_at.astimezone(UTC):%H:%M:%S} UTC" if retry_at else "gave up"
    Alert.objects.filter(pk=message.object_id).update(
        webhook_error=f"{message.last_error}; {outcome}.",
        webhook_attempts=message.attempts,
        webhook_next_attempt_at=retry_at,
    )
    log = logger.warning if retry_at else logger.error
    log(
        "Webhook for alert %s to %s failed (attempt %s of %s): %s; %s",
        message.object_id,
        webhooks.host_of(settings.ALERT_WEBHOOK_URL),
        message.attempts,
        retry.MAX_ATTEMPTS,
        message.last_error.partition(": ")[2],
        outcome,
    )

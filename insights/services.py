"""Writes about alerts: raising them from answers, working them, escalating them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from config.queue import enqueue_on_commit
from customers.models import CX_LEADS_GROUP
from surveys.models import Response

from . import alerts, emails, tasks
from .models import Alert, AlertNote, AlertStatus, NoteKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Answers evaluated per sweep transaction.
EVALUATION_BATCH_SIZE = 200


class AlertChangeError(Exception):
    """A change the alert's state does not allow; the message says why, for the user."""


def previous_score(response: Response) -> int | None:
    """The customer's answer before this one (by when each was first given)."""
    earlier = (
        Response.objects.filter(customer_id=response.customer_id, first_submitted_at__lt=response.first_submitted_at)
        .order_by("-first_submitted_at", "-pk")
        .values_list("score", flat=True)
        .first()
    )
    return earlier


def evaluate_response(*, response_id: int) -> list[Alert]:
    """Raises the alerts an answer calls for, once, and records a revised answer on the
    alert it raised. Safe to run twice or concurrently (task and sweep racing): the
    answer's row is locked and its needs_evaluation flag says whether work is left.

    Suspect answers wait: they are evaluated when a stable answer follows. Returns the
    alerts raised by this call.
    """
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=response_id, needs_evaluation=True, is_suspect=False)
            .first()
        )
        if response is None:
            return []
        raised = []
        existing = {alert.kind: alert for alert in response.alerts.all()}
        for alert in existing.values():
            if alert.score != response.score:
                _record_revision(alert, response)
        before = previous_score(response)
        for kind in alerts.kinds_to_raise(
            band=response.band, score=response.score, previous_score=before, tier=response.customer.tier
        ):
            if kind not in existing:
                raised.append(_raise_alert(response=response, kind=kind, previous=before))
        Response.objects.filter(pk=response.pk).update(needs_evaluation=False)
    return raised


def _raise_alert(*, response: Response, kind: str, previous: int | None) -> Alert:
    customer = response.customer
    manager = customer.account_manager
    now = timezone.now()
    alert = Alert.objects.create(
        response=response,
        customer=customer,
        kind=kind,
        priority=alerts.priority_for(tier=customer.tier, kind=kind),
        high_value=customer.tier in alerts.HIGH_VALUE_TIERS,
        assignee=manager if manager is not None and manager.is_active else None,
        tier=customer.tier,
        revenue_12m=customer.revenue_12m,
        on_time_rate=customer.on_time_rate,
        score=response.score,
        previous_score=previous,
        created_at=now,
        due_at=now + alerts.acknowledgement_window(customer.tier),
    )
    logger.info("Raised %s alert %s for customer %s (priority %s)", kind, alert.pk, customer.pk, alert.priority)
    enqueue_on_commit(tasks.notify_alert, alert.pk)
    return alert


def _record_revision(alert: Alert, response: Response) -> None:
    band = response.get_band_display().lower()
    AlertNote.objects.create(
        alert=alert,
        kind=NoteKind.REVISED,
        text=f"The customer changed their answer from {alert.score} to {response.score} ({band}).",
    )
    alert.score = response.score
    alert.save(update_fields=["score"])


def evaluate_pending(*, batch_size: int = EVALUATION_BATCH_SIZE) -> int:
    """The sweep: evaluates every answer still waiting (a lost task message, an answer
    recorded while the broker was down). Returns how many alerts it raised."""
    raised = 0
    while True:
        pending = list(
            Response.objects.filter(needs_evaluation=True, is_suspect=False)
            .order_by("submitted_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        for response_id in pending:
            raised += len(evaluate_response(response_id=response_id))
        if len(pending) < batch_size:
            return raised


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


def reassign(*, alert: Alert, user: AbstractBaseUser, assignee: AbstractBaseUser | None) -> Alert:
    """Hands the alert to another person (None: the CX leads), who is notified."""
    with transaction.atomic():
        alert = _locked(alert)
        if alert.assignee_id == (assignee.pk if assignee else None):
            return alert
        alert.assignee = assignee
        alert.notified_at = None
        alert.save(update_fields=["assignee", "notified_at"])
        AlertNote.objects.create(
            alert=alert,
            author=user,
            kind=NoteKind.REASSIGNED,
            text=f"Reassigned to {assignee.get_full_name() or assignee.get_username() if assignee else 'the CX leads'}.",
        )
        enqueue_on_commit(tasks.notify_alert, alert.pk)
    return alert


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
                text=f"Not acknowledged by {timezone.localtime(alert.due_at):%Y-%m-%d %H:%M}: escalated to the CX leads.",
            )
            enqueue_on_commit(tasks.notify_escalation, alert.pk)
            escalated += 1
    return escalated


# --- Telling people


def cx_lead_addresses() -> list[str]:
    return list(
        get_user_model()
        .objects.filter(groups__name=CX_LEADS_GROUP, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )


def notify_assignee(*, alert_id: int) -> bool:
    """Emails the alert to its assignee (the CX leads when it has none), once. An SMTP
    error propagates (the task retries) and leaves the alert unnotified for the sweep."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("customer", "assignee", "response")
            .filter(pk=alert_id, notified_at__isnull=True)
            .first()
        )
        if alert is None:
            return False
        assignee = alert.assignee
        recipients = [assignee.email] if assignee and assignee.email else cx_lead_addresses()
        if recipients:
            emails.alert_notification(alert, to=recipients).send()
        else:
            logger.error("Alert %s has no one to notify: no assignee email and no CX lead with an email", alert.pk)
        alert.notified_at = timezone.now()
        alert.save(update_fields=["notified_at"])
    return True


def notify_escalation(*, alert_id: int) -> bool:
    """Emails the CX leads about an escalated alert, once."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("customer", "assignee", "response")
            .filter(pk=alert_id, escalated_at__isnull=False, escalation_notified_at__isnull=True)
            .first()
        )
        if alert is None:
            return False
        recipients = cx_lead_addresses()
        if recipients:
            emails.alert_escalation(alert, to=recipients).send()
        else:
            logger.error("Alert %s was escalated but no CX lead has an email address", alert.pk)
        alert.escalation_notified_at = timezone.now()
        alert.save(update_fields=["escalation_notified_at"])
    return True


def notify_pending() -> int:
    """The sweep: sends the notifications a lost message or an SMTP outage held back."""
    sent = 0
    for alert_id in Alert.objects.filter(notified_at__isnull=True).values_list("pk", flat=True)[:500]:
        sent += notify_assignee(alert_id=alert_id)
    for alert_id in Alert.objects.filter(
        escalated_at__isnull=False, escalation_notified_at__isnull=True
    ).values_list("pk", flat=True)[:500]:
        sent += notify_escalation(alert_id=alert_id)
    return sent

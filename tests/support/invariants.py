"""The promises the fault tests check after every fault (issue 16, proof 5): nothing lost,
nothing doubled, nothing stuck. `check_invariants()` reads the database (and what the SMTP
sink received) and names every broken promise in words; an empty list means all hold.

    assert check_invariants(sink_message_ids=message_ids(sink.received())) == []
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.conf import settings
from django.utils import timezone

from core.models import OutgoingMessage
from customers.models import Band
from insights.alerts.services import NOTIFICATION_MESSAGE, notification_key
from insights.models import Alert, AlertKind
from surveys.models import Delivery, Response
from surveys.suspicion import settled_before


def message_ids(messages: Iterable[EmailMessage]) -> list[str]:
    """The Message-ID of each message an SMTP sink received (tests/support/smtp.py)."""
    return [str(message["Message-ID"] or "").strip() for message in messages]


def sweep_period() -> timedelta:
    """How often beat sweeps the outbox (config/settings.py CELERY_BEAT_SCHEDULE)."""
    return timedelta(seconds=float(settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]["schedule"]))


def check_invariants(
    *,
    sink_message_ids: Iterable[str] | None = None,
    duplicates_allowed: int = 0,
    healthy_since: datetime | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Every broken promise, in words.

    `sink_message_ids`: the Message-IDs the SMTP sink received; None skips the check that
    every sent message arrived exactly once. `duplicates_allowed`: how many received
    messages no sent row records may be forgiven: a send a killed worker never got to
    record goes again under a new Message-ID (the one-duplicate window). `healthy_since`:
    when the faults ended; a due message counts as late from then on (default: always)."""
    now = now or timezone.now()
    violations: list[str] = []
    violations += _deliveries_without_invitation()
    if sink_message_ids is not None:
        violations += _sent_not_received_once(list(sink_message_ids), duplicates_allowed)
    violations += _at_risk_answers_without_one_alert(now)
    violations += _alerts_not_notified_once()
    violations += _due_messages_late(now, healthy_since)
    return violations


def _deliveries_without_invitation() -> list[str]:
    # Invitation.delivery is one-to-one: more than one cannot be stored.
    missing = list(Delivery.objects.filter(invitation__isnull=True).values_list("reference", flat=True)[:20])
    return [f"delivery {reference} has no invitation" for reference in missing]


def _sent_not_received_once(received: list[str], duplicates_allowed: int) -> list[str]:
    violations = []
    counts = Counter(received)
    sent = dict(
        OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).values_list("provider_message_id", "key")
    )
    for message_id, key in sent.items():
        if not message_id:
            violations.append(f"sent message {key} records no Message-ID")
        elif counts[message_id] != 1:
            violations.append(f"sent message {key} reached the SMTP sink {counts[message_id]} times, not once")
    unrecorded = sum(count for message_id, count in counts.items() if message_id not in sent)
    if unrecorded > duplicates_allowed:
        violations.append(
            f"the SMTP sink received {unrecorded} messages no sent outbox row records "
            f"(at most {duplicates_allowed} allowed)"
        )
    return violations


def _at_risk_answers_without_one_alert(now: datetime) -> list[str]:
    """insights.alerts.rules.kinds_to_raise: every at-risk answer raises one at-risk alert,
    once quiet for ANSWER_QUIET_MINUTES (awaiting_evaluation); suspect ones wait for a person.
    (A unique constraint on the alert's answer and kind already forbids a second.)"""
    answers = Response.objects.filter(band=Band.AT_RISK, is_suspect=False, submitted_at__lte=settled_before(now))
    alerts = Counter(
        Alert.objects.filter(kind=AlertKind.AT_RISK, response__in=answers).values_list("response_id", flat=True)
    )
    return [
        f"at-risk answer {pk} (score {score}) has {alerts[pk]} at-risk alerts, not one"
        for pk, score in answers.values_list("pk", "score")
        if alerts[pk] != 1
    ]


def _alerts_not_notified_once() -> list[str]:
    """One notification a (alert, assignee): its outbox row, sent. The sink check above
    proves a sent row arrived once."""
    violations = []
    notifications = dict(
        OutgoingMessage.objects.filter(kind=NOTIFICATION_MESSAGE).values_list("key", "status")
    )
    for alert in Alert.objects.only("pk", "assignee_id"):
        key = notification_key(alert)
        status = notifications.get(key)
        if status is None:
            violations.append(f"alert {alert.pk}'s assignee was never notified (no {key} in the outbox)")
        elif status != OutgoingMessage.Status.SENT:
            violations.append(f"alert {alert.pk}'s notification {key} is {status}, not sent")
    return violations


def _due_messages_late(now: datetime, healthy_since: datetime | None) -> list[str]:
    """Beat sweeps the outbox every period: once healthy, nothing due waits two of them."""
    late_before = now - 2 * sweep_period()
    if healthy_since is not None and healthy_since > late_before:
        return []
    late = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.QUEUED, next_attempt_at__lt=late_before)
    return [
        f"outbox message {key} has been due since {due:%H:%M:%S}, more than two sweep periods"
        for key, due in late.values_list("key", "next_attempt_at")[:20]
    ]

"""Delivery events: what providers report about the messages they carried, stored once
and applied to the outbox row they are about.

customers.deliverability calls `store` (the webhook, needing only PostgreSQL) and later
`apply` (a task, or the sweep for events whose task was lost), each inside its own
transaction, and decides what an event means for the contacts; this module knows only
the outbox.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from . import erasure, outbox
from .models import DeliveryEvent, OutgoingMessage

Bounce = DeliveryEvent.Bounce
DELIVERED, OPENED = "delivered", "opened"
# The provider's clock against ours (and our sent_at is taken after its API answered).
CLOCK_SLACK = timedelta(minutes=5)


def store(
    *,
    esp: str,
    event_type: str,
    recipient: str = "",
    message_id: str = "",
    event_id: str = "",
    occurred_at: datetime | None = None,
    bounce: str = "",
    description: str = "",
    reject_reason: str = "",
    mta_response: str = "",
) -> DeliveryEvent | None:
    """Stores the event, not yet applied, with the outbox message it is about. Returns
    None, changing nothing, for an event stored before."""
    recipient = recipient.strip().lower()
    digest = _digest(esp, event_type, recipient, message_id, occurred_at, description, reject_reason, mta_response)
    if event_id:
        identity = {"esp": esp, "event_id": event_id, "recipient": recipient}
    else:
        identity = {"esp": esp, "digest": digest}
    if DeliveryEvent.objects.filter(**identity).exists():
        return None
    occurred_at = occurred_at or timezone.now()
    message = _message_for(message_id=message_id, recipient=recipient, occurred_at=occurred_at)
    if message is not None and erasure.is_placeholder(message.recipient) and recipient:
        # A late event about a message to an address erased since: it is stored under
        # the placeholder, so the address does not come back.
        description = erasure.redact(description, recipient, message.recipient)
        mta_response = erasure.redact(mta_response, recipient, message.recipient)
        recipient = message.recipient.lower()
    try:
        with transaction.atomic():  # a savepoint: losing a race to a twin leaves the caller's transaction usable
            event = DeliveryEvent.objects.create(
                esp=esp[:40],
                event_id=event_id[:255],
                digest=digest,
                event_type=event_type[:20],
                bounce=bounce,
                recipient=recipient[:254],
                provider_message_id=message_id[:255],
                message=message,
                occurred_at=occurred_at,
                description=description[:500],
                reject_reason=reject_reason[:20],
                mta_response=mta_response[:2000],
            )
    except IntegrityError:
        return None
    return event


def record(**fields: Any) -> DeliveryEvent | None:
    """Stores the event (`store`'s fields) and applies it to its message at once, inside
    the caller's transaction. Returns None, changing nothing, for an event stored before."""
    event = store(**fields)
    if event is not None:
        apply(event)
    return event


def unapplied() -> QuerySet[DeliveryEvent]:
    """Events stored and not applied yet, oldest first (their task lost, or not run yet)."""
    return DeliveryEvent.objects.filter(applied_at__isnull=True).order_by("received_at", "pk")


def claim(event_id: int) -> DeliveryEvent | None:
    """The event, locked until the caller's transaction ends, if it still waits to be
    applied; None when applied already or being applied by another worker."""
    return unapplied().select_for_update(skip_locked=True).filter(pk=event_id).first()


def apply(event: DeliveryEvent) -> None:
    """Applies a claimed event to the message it is about (delivered and opened times, a
    hard bounce) and marks it applied, inside the caller's transaction."""
    if event.message_id is not None:
        _apply(event, event.message)
    event.applied_at = timezone.now()
    DeliveryEvent.objects.filter(pk=event.pk).update(applied_at=event.applied_at)


def _message_for(*, message_id: str, recipient: str, occurred_at: datetime) -> OutgoingMessage | None:
    """The outbox row by the provider's message id; else the latest sent to the address
    by the event's time, give or take the clocks (SMTP relays report ids of their own)."""
    if message_id:
        bare = message_id.strip().strip("<>")
        found = (
            OutgoingMessage.objects.filter(provider_message_id__in={message_id, bare, f"<{bare}>"})
            .order_by("-sent_at", "-pk")
            .first()
        )
        if found is not None:
            return found
    if not recipient:
        return None
    return (
        OutgoingMessage.objects.annotate(recipient_lower=Lower("recipient"))
        .filter(recipient_lower=recipient, sent_at__lte=occurred_at + CLOCK_SLACK)
        .order_by("-sent_at", "-pk")
        .first()
    )


def _apply(event: DeliveryEvent, message: OutgoingMessage) -> None:
    if event.event_type == DELIVERED:
        OutgoingMessage.objects.filter(pk=message.pk, delivered_at__isnull=True).update(delivered_at=event.occurred_at)
    elif event.event_type == OPENED:
        OutgoingMessage.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=event.occurred_at)
    elif event.bounce == Bounce.HARD:
        reason = event.mta_response or event.description or event.reject_reason
        outbox.record_bounce(message, reason=f"{event.esp} reported a hard bounce: {reason}".rstrip(": "))


def _digest(*fields: object) -> str:
    """Tells a repeat of an event the provider gave no id: its fields, the provider's own
    time among them (never the time it arrived)."""
    values = [field.isoformat() if isinstance(field, datetime) else (field or "") for field in fields]
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()

"""Whether email reaches a contact: what the provider's delivery events mean for them.

Providers report through anymail's tracking webhooks (`/anymail/<provider>/tracking/`);
customers.receivers hands each event to `receive_delivery_event`, which stores it in
PostgreSQL (so the webhook answers 200 whether or not the broker is up) and asks a task
to apply it (`apply_delivery_event`); the sweep (`apply_unapplied_delivery_events`)
applies any whose task the broker lost. An address is the unit: a bounce or complaint about it
changes every contact with that address, whichever customer they belong to.

- A hard bounce (the address is bad) makes it undeliverable ("bounced").
- Soft bounces (full mailbox, server down) are counted: three messages soft-bounced
  within 30 days make it undeliverable ("soft_bounces").
- A spam complaint opts the contact out ("complained"); an unsubscribe through the
  provider's own link opts them out ("unsubscribed").
- Each contact that stops being reachable is announced (customers.signals
  .contact_unreachable, after commit): insights raises an unreachable alert when a
  high-value customer has no contact left to survey.
- Staff re-enable an address (`reenable_address`) when it works again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from core import audit
from core import deliverability as sending
from core import delivery_events, erasure, outbox
from core.models import DeliveryEvent
from core.queue import enqueue

from .models import Contact, OptOutReason, UndeliverableReason
from .outbox import SENDING_PAUSED_MESSAGE
from .services import announce_unreachable, opt_out_contact

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

Bounce = DeliveryEvent.Bounce
APPLY_DELIVERY_EVENT = "customers.tasks.apply_delivery_event"
SOFT_BOUNCES_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)

# anymail reports some providers' temporary failures as "bounced"; their own payload tells.
_TEMPORARY_BOUNCE: dict[str, Callable[[Any], bool]] = {
    "Postmark": lambda raw: raw["Type"] == "SoftBounce",
    "Amazon SES": lambda raw: raw["bounce"]["bounceType"] != "Permanent",  # Transient or Undetermined
    "Brevo": lambda raw: raw["event"] == "soft_bounce",
    "SendinBlue": lambda raw: raw["event"] == "soft_bounce",
    "Mandrill": lambda raw: raw["event"] == "soft_bounce",
    "MailerSend": lambda raw: raw["data"]["type"] == "soft_bounced",
}
# anymail's reject reasons that say the address itself is bad.
_BAD_ADDRESS = {RejectReason.BOUNCED, RejectReason.INVALID}


def event_fields(event: AnymailTrackingEvent, *, esp_name: str) -> dict[str, str]:
    """The plain fields of an anymail tracking event: what a task can carry."""
    return {
        "esp": esp_name,
        "event_type": event.event_type,
        "bounce": bounce_kind(
            event_type=event.event_type,
            reject_reason=event.reject_reason or "",
            temporary=_reported_as_temporary(esp_name, event.esp_event),
        ),
        "recipient": str(event.recipient or ""),
        "message_id": str(event.message_id or ""),
        "event_id": str(event.event_id or ""),
        "occurred_at": event.timestamp.isoformat() if event.timestamp else "",
        "description": str(event.description or ""),
        "reject_reason": str(event.reject_reason or ""),
        "mta_response": str(event.mta_response or ""),
    }


def bounce_kind(*, event_type: str, reject_reason: str, temporary: bool = False) -> str:
    """"hard" when the address is bad, "soft" when delivery failed for now, else ""."""
    if event_type == EventType.DEFERRED:
        return Bounce.SOFT
    if event_type == EventType.BOUNCED and (temporary or reject_reason == RejectReason.TIMED_OUT):
        return Bounce.SOFT
    if event_type == EventType.BOUNCED and (not reject_reason or reject_reason in _BAD_ADDRESS):
        return Bounce.HARD
    if event_type == EventType.REJECTED and reject_reason in _BAD_ADDRESS:
        return Bounce.HARD
    return ""


def _reported_as_temporary(esp_name: str, raw: Any) -> bool:
    rule = _TEMPORARY_BOUNCE.get(esp_name)
    try:
        return rule is not None and bool(rule(raw))
    except (KeyError, TypeError, AttributeError):  # not a bounce, or a payload of another shape
        return False


def receive_delivery_event(event: AnymailTrackingEvent, *, esp_name: str) -> DeliveryEvent | None:
    """The webhook's part, in the request (which holds no transaction): stores the event
    once, then asks a worker to apply it. A broker that cannot take the request costs
    about a second and loses nothing: the sweep applies the event once Redis is back."""
    fields = event_fields(event, esp_name=esp_name)
    occurred_at = fields.pop("occurred_at")
    stored = delivery_events.store(occurred_at=datetime.fromisoformat(occurred_at) if occurred_at else None, **fields)
    if stored is not None:
        enqueue(APPLY_DELIVERY_EVENT, stored.pk)
    return stored


def apply_delivery_event(*, event_id: int) -> bool:
    """Applies a stored event to its outbox message and to every contact with its
    address, once: an event applied already, or being applied, is left alone. Returns
    whether this call applied it."""
    with transaction.atomic():
        event = delivery_events.claim(event_id)
        if event is None:
            return False
        _apply(event)
    return True


def apply_unapplied_delivery_events(*, limit: int = 500) -> int:
    """The sweep: applies events whose task never ran (the broker was down or lost it).
    Returns how many it applied."""
    ids = list(delivery_events.unapplied().values_list("pk", flat=True)[:limit])
    return sum(apply_delivery_event(event_id=event_id) for event_id in ids)


def record_delivery_event(
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
    """Stores one delivery event and applies it at once. Returns None, changing nothing,
    for an event stored before."""
    with transaction.atomic():
        event = delivery_events.store(
            esp=esp,
            event_type=event_type,
            recipient=recipient,
            message_id=message_id,
            event_id=event_id,
            occurred_at=occurred_at,
            bounce=bounce,
            description=description,
            reject_reason=reject_reason,
            mta_response=mta_response,
        )
        if event is not None:
            _apply(event)
    return event


def _apply(event: DeliveryEvent) -> None:
    """What the event means for its outbox message and for every contact with its address."""
    delivery_events.apply(event)
    if not event.recipient or erasure.is_placeholder(event.recipient):
        return  # nothing to apply to contacts: no address, or one erased
    if event.bounce == Bounce.HARD:
        _mark_undeliverable(event, reason=UndeliverableReason.BOUNCED)
    elif event.bounce == Bounce.SOFT and _soft_bounces(event) >= SOFT_BOUNCES_LIMIT:
        _mark_undeliverable(event, reason=UndeliverableReason.SOFT_BOUNCES)
    elif event.event_type == EventType.COMPLAINED:
        for contact in contacts_with_address(event.recipient):
            opt_out_contact(contact=contact, reason=OptOutReason.COMPLAINED)
        _pause_if_too_many_complaints()
    elif event.event_type == EventType.UNSUBSCRIBED:
        for contact in contacts_with_address(event.recipient):
            opt_out_contact(contact=contact, reason=OptOutReason.UNSUBSCRIBED)


def _pause_if_too_many_complaints() -> None:
    pause = sending.pause_if_too_many_complaints()
    if pause is not None:
        outbox.queue(kind=SENDING_PAUSED_MESSAGE, object_id=pause.pk)


def resume_sending(*, by: AbstractBaseUser) -> bool:
    """Staff resume survey sending after a pause, recorded with who did it."""
    return sending.resume(by=by)


def reenable_address(*, email: str, by: AbstractBaseUser) -> int:
    """Staff make an undeliverable address deliverable again (the mailbox was fixed, the
    bounce was a mistake); its earlier soft bounces no longer count. Opt-outs stay.
    Recorded in each contact's audit trail with who did it. Returns how many contacts."""
    now = timezone.now()
    with transaction.atomic():
        contacts = list(contacts_with_address(email).filter(undeliverable_at__isnull=False).select_for_update())
        if not contacts:
            return 0
        Contact.objects.filter(pk__in=[contact.pk for contact in contacts]).update(
            undeliverable_at=None, undeliverable_reason="", reenabled_at=now
        )
        with audit.acting_as(by):
            audit.record_many(
                (
                    contact,
                    {
                        "undeliverable_at": [contact.undeliverable_at, None],
                        "undeliverable_reason": [contact.undeliverable_reason, ""],
                        "reenabled_at": [contact.reenabled_at, now],
                    },
                )
                for contact in contacts
            )
    logger.info("%s re-enabled an address for contacts %s", by, [contact.pk for contact in contacts])
    return len(contacts)


def contacts_with_address(email: str) -> QuerySet[Contact]:
    """Every contact with this address, whatever its case, at any customer."""
    return Contact.objects.annotate(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


def _mark_undeliverable(event: DeliveryEvent, *, reason: str) -> None:
    contacts = list(contacts_with_address(event.recipient).filter(undeliverable_at__isnull=True))
    marked = [(contact.pk, contact.customer_id) for contact in contacts]
    Contact.objects.filter(pk__in=[pk for pk, _ in marked]).update(
        undeliverable_at=event.occurred_at, undeliverable_reason=reason
    )
    audit.record_many(
        (
            contact,
            {
                "undeliverable_at": [None, event.occurred_at],
                "undeliverable_reason": [contact.undeliverable_reason, reason],
            },
        )
        for contact in contacts
    )
    if marked:
        logger.info("%s: contacts %s are undeliverable (%s)", event.esp, [pk for pk, _ in marked], reason)
        announce_unreachable(marked)


def _soft_bounces(event: DeliveryEvent) -> int:
    """Messages to the event's address that soft-bounced in the 30 days up to it, since
    staff last re-enabled it. A provider may report one message deferred several times:
    it counts once."""
    since = event.occurred_at - SOFT_BOUNCE_WINDOW
    reenabled_at = contacts_with_address(event.recipient).aggregate(last=Max("reenabled_at"))["last"]
    if reenabled_at is not None:
        since = max(since, reenabled_at)
    counts = DeliveryEvent.objects.filter(
        recipient=event.recipient, bounce=Bounce.SOFT, occurred_at__gt=since, occurred_at__lte=event.occurred_at
    ).aggregate(
        messages=Count("provider_message_id", distinct=True, filter=~Q(provider_message_id="")),
        without_id=Count("pk", filter=Q(provider_message_id="")),
    )
    return counts["messages"] + counts["without_id"]

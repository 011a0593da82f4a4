"""Forgetting an email address for good (erasure on request, GDPR Article 17): what
core wrote down of it, the outbox's recipients and errors and the providers' delivery
events, is overwritten with a placeholder that names no one.

The apps above decide whose address it is and which of their rows go with it
(customers.services.erase_contact); this module knows only addresses and messages.
"""

from __future__ import annotations

import json
import re

from django.db.models import Q, QuerySet

from .models import DeliveryEvent, OutgoingMessage

# Reserved by RFC 2606: no mail server will ever accept an address there.
ERASED_DOMAIN = "erased.invalid"


def placeholder_address(label: str) -> str:
    """The address that stands where an erased one was: unique per `label`, reaching no one."""
    return f"erased-{label}@{ERASED_DOMAIN}"


def is_placeholder(address: str) -> bool:
    return address.strip().lower().endswith(f"@{ERASED_DOMAIN}")


def redact(text: str, address: str, replacement: str) -> str:
    """`text` with every occurrence of `address` (in any letter case) replaced."""
    if not address or not text:
        return text
    return re.sub(re.escape(address), lambda _: replacement, text, flags=re.IGNORECASE)


# A one- or two-letter name would match inside too many other words.
SHORTEST_NAME = 3


def redact_name(text: str, name: str, replacement: str) -> str:
    """`text` with `name` replaced where it stands as a whole word or words, letter case
    as written (a name like "May" must not take "may" with it); also its form inside
    JSON (Django's admin history keeps change messages so). Names shorter than
    SHORTEST_NAME are left: they would match inside other words."""
    name = name.strip()
    if len(name) < SHORTEST_NAME or not text:
        return text
    for form in {name, json.dumps(name)[1:-1]}:
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", lambda _: replacement, text)
    return text


def forget_address(*, address: str, replacement: str, messages: QuerySet[OutgoingMessage] | None = None) -> int:
    """Replaces `address` with `replacement` in the outbox (recipient, last error) and in
    the delivery events (recipient, the provider's description and the receiving
    server's answer), inside the caller's transaction. `messages` narrows it to those
    outbox rows and the events about them (the address may still belong to someone
    else); None means every row that names the address. Returns how many outbox rows
    changed."""
    address = address.strip().lower()
    if not address:
        return 0
    mentions = Q(recipient__icontains=address) | Q(last_error__icontains=address)
    rows = (messages if messages is not None else OutgoingMessage.objects.all()).filter(mentions)
    changed = 0
    for message in rows.only("pk", "recipient", "last_error"):
        changed += OutgoingMessage.objects.filter(pk=message.pk).update(
            recipient=redact(message.recipient, address, replacement),
            last_error=redact(message.last_error, address, replacement),
        )
    events = DeliveryEvent.objects.filter(
        Q(recipient=address) | Q(description__icontains=address) | Q(mta_response__icontains=address)
    )
    if messages is not None:
        events = events.filter(message__in=messages)
    for event in events.only("pk", "recipient", "description", "mta_response"):
        DeliveryEvent.objects.filter(pk=event.pk).update(
            recipient=replacement if event.recipient == address else event.recipient,
            description=redact(event.description, address, replacement)[:500],
            mta_response=redact(event.mta_response, address, replacement),
        )
    return changed

"""The sender's reputation: when too many recipients report survey emails as spam,
survey sending pauses until staff resume it.

Gmail asks bulk senders to keep spam complaints under 0.3%; past it their mail is
refused. The rate is taken over the last 1,000 emails that left, and never on fewer:
3 complaints among a small sender's first 20 emails do not pause it, 4 do.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import DeliveryEvent, OutgoingMessage, SendingPause

logger = logging.getLogger(__name__)

COMPLAINT_WINDOW = 1000
COMPLAINED = "complained"


def complaints_among_last_sent(window: int = COMPLAINT_WINDOW) -> tuple[int, int]:
    """(complaints, sent) over the last `window` emails that left."""
    last_sent = list(
        OutgoingMessage.objects.filter(sent_at__isnull=False).order_by("-sent_at").values_list("pk", flat=True)[:window]
    )
    complaints = (
        DeliveryEvent.objects.filter(event_type=COMPLAINED, message_id__in=last_sent)
        .values("message_id")
        .distinct()
        .count()
    )
    return complaints, len(last_sent)


def is_over_complaint_limit(*, complaints: int, sent: int) -> bool:
    return complaints > settings.COMPLAINT_RATE_LIMIT * max(sent, COMPLAINT_WINDOW)


def pause_in_force() -> SendingPause | None:
    return SendingPause.objects.filter(in_force=True).first()


def pause_if_too_many_complaints() -> SendingPause | None:
    """Pauses survey sending when the complaint rate passes the limit. Returns the new
    pause, or None (under the limit, or already paused)."""
    complaints, sent = complaints_among_last_sent()
    if not is_over_complaint_limit(complaints=complaints, sent=sent) or pause_in_force():
        return None
    reason = (
        f"{complaints} spam complaints among the last {sent:,} emails sent "
        f"(over {settings.COMPLAINT_RATE_LIMIT:.1%} of {max(sent, COMPLAINT_WINDOW):,})."
    )
    try:
        with transaction.atomic():
            pause = SendingPause.objects.create(reason=reason)
    except IntegrityError:  # another worker paused it a moment ago
        return None
    logger.error("Survey sending paused: %s", reason)
    return pause


def resume(*, by: AbstractBaseUser) -> bool:
    """Staff resume survey sending. Returns whether a pause was in force."""
    resumed = SendingPause.objects.filter(in_force=True).update(in_force=None, resumed_at=timezone.now(), resumed_by=by)
    if resumed:
        logger.warning("Survey sending resumed by %s", by)
    return bool(resumed)

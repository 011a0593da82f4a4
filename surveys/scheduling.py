"""When an invitation goes out, or why it does not: pure rules, no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .models import InvitationStatus, SuppressedReason


class Timing(Protocol):
    send_delay: timedelta
    throttle: timedelta
    expiry: timedelta


@dataclass(frozen=True)
class Plan:
    status: str
    scheduled_for: datetime
    expires_at: datetime
    suppressed_reason: str = ""

    @property
    def next_attempt_at(self) -> datetime | None:
        """When sending is first tried: at the due time, if the invitation goes out at all."""
        return self.scheduled_for if self.status == InvitationStatus.SCHEDULED else None


def plan_invitation(
    *,
    delivered_at: datetime,
    survey: Timing,
    customer_is_active: bool,
    contact_unreachable_reason: str,
    contact_surveyed_at: Iterable[datetime],
) -> Plan:
    """Due at delivered_at + the send delay, closing `expiry` after that.

    Suppressed when the contact cannot be reached (`contact_unreachable_reason`: opted
    out, complained or bounced, as Contact.unreachable_reason says), when the customer is inactive, or when
    another invitation to the contact is (or was) due less than the throttle window
    before or after this one: `contact_surveyed_at` are those invitations' due times.
    Exactly one window apart is allowed.
    """
    scheduled_for = delivered_at + survey.send_delay
    expires_at = scheduled_for + survey.expiry
    reason = ""
    if contact_unreachable_reason:
        reason = SuppressedReason(contact_unreachable_reason)
    elif not customer_is_active:
        reason = SuppressedReason.INACTIVE_CUSTOMER
    elif any(abs(scheduled_for - other) < survey.throttle for other in contact_surveyed_at):
        reason = SuppressedReason.THROTTLED
    status = InvitationStatus.SUPPRESSED if reason else InvitationStatus.SCHEDULED
    return Plan(status=status, scheduled_for=scheduled_for, expires_at=expires_at, suppressed_reason=reason)


def reminder_due_at(*, sent_at: datetime, reminder_delay: timedelta, expires_at: datetime) -> datetime | None:
    """One reminder `reminder_delay` after sending, unless the link has closed by then."""
    remind_at = sent_at + reminder_delay
    return remind_at if remind_at < expires_at else None


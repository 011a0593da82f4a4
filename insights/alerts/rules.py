"""Which alerts an answer raises, when a customer counts as unreachable, how alerts
rank and what they say: pure rules, no database."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from core.numbers import format_money
from customers.models import HIGH_VALUE_TIERS, Band, UndeliverableReason, UnreachableReason

from ..models import Alert, AlertKind, AlertStatus, ContactLoss, Priority

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.models import Contact, Customer

# A tier 1–2 customer whose score falls this far from their previous answer.
DECLINE_DROP = 3


def kinds_to_raise(*, band: str, score: int, previous_score: int | None, tier: int | None) -> list[str]:
    """Every at-risk answer raises an at-risk alert. A high-value customer whose score
    drops DECLINE_DROP points or more from their previous answer, to a score that is
    not at risk, raises a decline alert: at risk, the at-risk alert (which ranks
    higher and names the drop) already covers it."""
    if band == Band.AT_RISK:
        return [AlertKind.AT_RISK]
    if tier in HIGH_VALUE_TIERS and previous_score is not None and previous_score - score >= DECLINE_DROP:
        return [AlertKind.DECLINE]
    return []


def priority_for(*, tier: int | None, kind: str) -> int:
    """Tier 1 critical … tier 4 (or no tier) low; a decline ranks one lower than its tier."""
    priority = tier or Priority.LOW
    if kind == AlertKind.DECLINE:
        priority += 1
    return min(priority, Priority.LOW)


def assignee_for(*, customer: Customer) -> AbstractBaseUser | None:
    """Who works the customer's alerts: their account manager while active. None
    leaves them to the CX leads (services.cx_leads)."""
    manager = customer.account_manager
    return manager if manager is not None and manager.is_active else None


def acknowledgement_window(tier: int | None) -> timedelta:
    """4 h, 24 h, 72 h or 7 days by tier (settings.ALERT_ACK_HOURS)."""
    hours = settings.ALERT_ACK_HOURS[(tier or 4) - 1]
    return timedelta(hours=hours)


def escalation_note(*, due_at: datetime) -> str:
    """What an escalated alert's history says of it."""
    return f"Not acknowledged by {timezone.localtime(due_at):%Y-%m-%d %H:%M}: escalated to the CX leads."


def rank_reason(alert: Alert) -> str:
    """Why the alert ranks where it does, in words: tier, revenue, score, change from
    the last score (for an unreachable alert: the contact lost), payment punctuality.
    The customer's figures are as they stood when it was raised; the scores are the
    answer's as it stands now."""
    tier, score, previous_score = alert.tier, alert.score, alert.previous_score
    parts = [
        f"{Priority(alert.priority).label} priority: " + (f"tier {tier}" if tier else "no tier (inactive)"),
        f"{format_money(alert.revenue_12m)} revenue in 12 months",
    ]
    if alert.kind == AlertKind.UNREACHABLE:
        parts.append(f"unreachable: {lost_contact_words(alert)}")
    elif previous_score is None:
        parts.append(f"scored {score}, first answer")
    elif previous_score == score:
        parts.append(f"scored {score}, as last time")
    else:
        change = "down" if score < previous_score else "up"
        parts.append(f"scored {score}, {change} from {previous_score}")
    if alert.on_time_rate is None:
        parts.append("no payment record yet")
    else:
        parts.append(f"pays {alert.on_time_rate:.0%} of invoices on time")
    if alert.kind == AlertKind.DECLINE:
        parts.append("a high-value customer's score fell sharply")
    if alert.answer_recovered_at is not None:
        parts.append(recovered_words(alert))
    return "; ".join(parts) + "."


def recovered_words(alert: Alert) -> str:
    """What the case says once the changed answer no longer calls for the alert."""
    if alert.kind == AlertKind.DECLINE:
        return "the changed answer no longer falls sharply"
    return "the changed answer is no longer at risk"


def change_note(alert: Alert, *, changed_from: int | None, band_label: str, kind_changed: bool) -> str:
    """The history's words when the alert follows a changed answer (`alert` as it stands
    after the change)."""
    text = f"The customer changed their answer from {changed_from} to {alert.score} ({band_label})."
    if kind_changed:
        kind = "a decline alert" if alert.kind == AlertKind.DECLINE else "an at-risk alert"
        text += f" It is now {kind}, {Priority(alert.priority).label.lower()} priority."
    if alert.answer_recovered_at is not None:
        text = text[:-1] + (": no longer a sharp fall." if alert.kind == AlertKind.DECLINE else ": no longer at risk.")
        if alert.status != AlertStatus.RESOLVED:
            text += " The alert stays open until someone resolves it."
    return text


def confirmed_note(scores: list[int]) -> str:
    """The history's words for an alert raised by a possible scanner a person confirmed."""
    return (
        "Confirmed as a person's answer, not a mail scanner's clicks "
        f"(scores seen: {', '.join(str(score) for score in scores)})."
    )


# --- Unreachable customers


def contact_loss(contact: Contact) -> str:
    """Why a contact lost to delivery can no longer be surveyed, as a ContactLoss."""
    if contact.unreachable_reason == UnreachableReason.COMPLAINED:
        return ContactLoss.COMPLAINED
    if contact.undeliverable_reason == UndeliverableReason.SOFT_BOUNCES:
        return ContactLoss.SOFT_BOUNCES
    return ContactLoss.BOUNCED


def _day(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "j M Y")


_LOSS_WORDS = {
    ContactLoss.BOUNCED: "bounced",
    ContactLoss.SOFT_BOUNCES: "kept soft-bouncing until",
    ContactLoss.COMPLAINED: "marked a survey as spam",
}


# Where an alert named a contact erased since (insights.alerts.services.forget_contact).
ERASED_CONTACT = "an erased contact"


def loss_words(*, email: str, reason: str, at: datetime | None) -> str:
    """"jane@example.com bounced on 3 Jun 2026 and no other contact can be surveyed"."""
    words = _LOSS_WORDS.get(reason, "can no longer be surveyed")
    if at is not None:
        words += f" {_day(at)}" if words.endswith(" until") else f" on {_day(at)}"
    return f"{email or ERASED_CONTACT} {words} and no other contact can be surveyed"


def lost_contact_words(alert: Alert) -> str:
    """What made an unreachable alert's customer unreachable, as it stood when raised."""
    return loss_words(email=alert.lost_contact_email, reason=alert.lost_contact_reason, at=alert.lost_contact_at)


def unreachable_summary(alert: Alert) -> str:
    """The unreachable alert in one sentence, for its page, emails and chat."""
    return f"We can no longer reach {alert.customer.name}: {lost_contact_words(alert)}."


def reachable_again_note(contacts: list[Contact], *, raised_at: datetime) -> str:
    """The history's words when an unreachable customer's contacts can be surveyed
    again: which, and why when we know (added, or re-enabled, since the alert)."""

    def described(contact: Contact) -> str:
        if contact.created_at >= raised_at:
            return f"{contact.email} (added on {_day(contact.created_at)})"
        if contact.reenabled_at is not None and contact.reenabled_at >= raised_at:
            return f"{contact.email} (re-enabled on {_day(contact.reenabled_at)})"
        return contact.email

    named = [described(contact) for contact in contacts]
    who = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"{who} can be surveyed again. The alert stays until it is resolved."


def new_unreachable_alert(
    *,
    customer_id: int,
    tier: int | None,
    revenue_12m: Decimal,
    on_time_rate: float | None,
    assignee_id: int | None,
    created_at: datetime,
    lost_contact: Contact,
) -> Alert:
    """An unreachable alert (unsaved), ranked as an answer's alert of its tier would be,
    naming the contact lost as it stands now."""
    alert = new_alert(
        response_id=None,
        survey_id=None,
        customer_id=customer_id,
        kind=AlertKind.UNREACHABLE,
        tier=tier,
        revenue_12m=revenue_12m,
        on_time_rate=on_time_rate,
        score=None,
        previous_score=None,
        assignee_id=assignee_id,
        created_at=created_at,
    )
    alert.lost_contact_email = lost_contact.email
    alert.lost_contact_reason = contact_loss(lost_contact)
    alert.lost_contact_at = lost_contact.unreachable_since
    return alert


def new_alert(
    *,
    response_id: int | None,
    survey_id: int | None,
    customer_id: int,
    kind: str,
    tier: int | None,
    revenue_12m: Decimal,
    on_time_rate: float | None,
    score: int | None,
    previous_score: int | None,
    assignee_id: int | None,
    created_at: datetime,
) -> Alert:
    """An alert (unsaved) ranked by these rules, with the customer as it stands now."""
    return Alert(
        response_id=response_id,
        survey_id=survey_id,
        customer_id=customer_id,
        kind=kind,
        priority=priority_for(tier=tier, kind=kind),
        high_value=tier in HIGH_VALUE_TIERS,
        assignee_id=assignee_id,
        tier=tier,
        revenue_12m=revenue_12m,
        on_time_rate=on_time_rate,
        score=score,
        previous_score=previous_score,
        created_at=created_at,
        due_at=created_at + acknowledgement_window(tier),
    )

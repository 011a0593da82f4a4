"""Alert emails: one short function per email, built by core.emails. Sent only from tasks."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.emails import absolute_url, build_email

from ..models import Alert, AlertKind
from . import rules


def _handed_over_by(alert: Alert) -> str:
    person = alert.handed_over_by
    return (person.get_full_name() or person.get_username()) if person else ""


def _context(alert: Alert) -> dict:
    return {
        "alert": alert,
        "customer": alert.customer,
        "comment": alert.response.comment if alert.response else "",
        # Who answered: the person to call back.
        "contact": alert.response.invitation.contact if alert.response else None,
        "unreachable": rules.unreachable_summary(alert) if alert.kind == AlertKind.UNREACHABLE else "",
        "why": rules.rank_reason(alert),
        "alert_url": absolute_url(reverse("insights:alert", args=[alert.pk])),
    }


def alert_notification(alert: Alert, *, to: list[str]) -> EmailMultiAlternatives:
    """To whoever works the alert; when it was handed to them, it says by whom and why."""
    context = {**_context(alert), "handed_over_by": _handed_over_by(alert)}
    return build_email("alert_notification", context=context, to=to)


def alert_escalation(alert: Alert, *, to: list[str]) -> EmailMultiAlternatives:
    return build_email("alert_escalation", context=_context(alert), to=to)

"""Alert emails: one short function per email, built by core.emails. Sent only from tasks."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.emails import absolute_url, build_email

from ..models import Alert, AlertKind
from . import rules


def _context(alert: Alert) -> dict:
    return {
        "alert": alert,
        "customer": alert.customer,
        "comment": alert.response.comment if alert.response else "",
        "unreachable": rules.unreachable_summary(alert) if alert.kind == AlertKind.UNREACHABLE else "",
        "why": rules.rank_reason(alert),
        "alert_url": absolute_url(reverse("insights:alert", args=[alert.pk])),
    }


def alert_notification(alert: Alert, *, to: list[str]) -> EmailMultiAlternatives:
    return build_email("alert_notification", context=_context(alert), to=to)


def alert_escalation(alert: Alert, *, to: list[str]) -> EmailMultiAlternatives:
    return build_email("alert_escalation", context=_context(alert), to=to)

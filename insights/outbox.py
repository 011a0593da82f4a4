"""The alert emails the outbox sends (core.outbox): built at send time for whoever
works the alert then, and recorded on the alert once they left."""

from __future__ import annotations

import logging

from core import outbox
from core.models import OutgoingMessage

from .alerts import emails, services
from .models import Alert

logger = logging.getLogger(__name__)


def _alert(message: OutgoingMessage) -> Alert:
    return Alert.objects.select_related(
        "customer", "assignee", "handed_over_by", "response__invitation__contact"
    ).get(pk=message.object_id)


def _build_notification(message: OutgoingMessage):
    alert = _alert(message)
    if message.key != services.notification_key(alert):
        raise outbox.Unwanted("reassigned before it went: the new assignee has an email of their own")
    recipients = services.notification_recipients(alert)
    if not recipients:
        logger.error("Alert %s has no one to notify: no assignee email and no CX lead with an email", alert.pk)
        raise outbox.Unwanted("no one to notify: no assignee email and no CX lead with an email")
    return emails.alert_notification(alert, to=recipients)


def _build_escalation(message: OutgoingMessage):
    alert = _alert(message)
    recipients = services.cx_lead_addresses()
    if not recipients:
        logger.error("Alert %s was escalated but no CX lead has an email address", alert.pk)
        raise outbox.Unwanted("no CX lead with an email address")
    return emails.alert_escalation(alert, to=recipients)


def _notified(message: OutgoingMessage) -> None:
    Alert.objects.filter(pk=message.object_id).update(notified_at=message.sent_at)


def _escalation_notified(message: OutgoingMessage) -> None:
    Alert.objects.filter(pk=message.object_id).update(escalation_notified_at=message.sent_at)


outbox.register(services.NOTIFICATION_MESSAGE, outbox.MessageKind(build=_build_notification, sent=_notified))
outbox.register(services.ESCALATION_MESSAGE, outbox.MessageKind(build=_build_escalation, sent=_escalation_notified))
outbox.register(
    services.WEBHOOK_MESSAGE,
    outbox.MessageKind(
        deliver=services.deliver_webhook,
        sent=services.record_webhook_sent,
        attempt_failed=services.record_webhook_failure,
        given_up=services.record_webhook_failure,
    ),
)

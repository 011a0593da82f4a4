"""Thin Celery tasks: each calls one service and is safe to run twice."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from .alerts import services
from .dashboard import counts

_RETRY = {"autoretry_for": (SMTPException, ConnectionError), "retry_backoff": 30, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(acks_late=True, ignore_result=True)
def evaluate_response(response_id: int) -> int:
    return len(services.evaluate_response(response_id=response_id))


@shared_task(acks_late=True, ignore_result=True)
def evaluate_pending() -> int:
    return services.evaluate_pending()


@shared_task(acks_late=True, ignore_result=True, **_RETRY)
def notify_alert(alert_id: int) -> bool:
    return services.notify_assignee(alert_id=alert_id)


@shared_task(acks_late=True, ignore_result=True, **_RETRY)
def notify_escalation(alert_id: int) -> bool:
    return services.notify_escalation(alert_id=alert_id)


@shared_task(acks_late=True, ignore_result=True)
def notify_pending() -> int:
    return services.notify_pending()


@shared_task(acks_late=True, ignore_result=True)
def escalate_overdue() -> int:
    return services.escalate_overdue()


# The webhook keeps its own durable retry schedule on the alert (services.send_webhook),
# so its tasks never retry through the broker.
@shared_task(acks_late=True, ignore_result=True)
def send_alert_webhook(alert_id: int) -> bool:
    return services.send_webhook(alert_id=alert_id)


@shared_task(acks_late=True, ignore_result=True)
def send_pending_webhooks() -> int:
    return services.send_pending_webhooks()


@shared_task(acks_late=True, ignore_result=True)
def refresh_answer_counts() -> bool:
    return counts.refresh()

"""Thin Celery tasks: each calls one service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .alerts import services
from .dashboard import counts, latest_counts, rollups


@shared_task(acks_late=True, ignore_result=True)
def evaluate_response(response_id: int) -> int:
    return len(services.evaluate_and_notify(response_id=response_id))


@shared_task(acks_late=True, ignore_result=True)
def evaluate_pending() -> int:
    return services.evaluate_pending()


@shared_task(acks_late=True, ignore_result=True)
def raise_unreachable_alert(customer_id: int) -> bool:
    return services.raise_unreachable_alert(customer_id=customer_id) is not None


@shared_task(acks_late=True, ignore_result=True)
def sweep_unreachable() -> int:
    return services.sweep_unreachable()


@shared_task(acks_late=True, ignore_result=True)
def notify_pending() -> int:
    return services.notify_pending()


@shared_task(acks_late=True, ignore_result=True)
def escalate_overdue() -> int:
    return services.escalate_overdue()


@shared_task(acks_late=True, ignore_result=True)
def refresh_answer_counts() -> bool:
    return counts.refresh()


@shared_task(acks_late=True, ignore_result=True)
def rebuild_answer_counts() -> None:
    counts.rebuild()


@shared_task(acks_late=True, ignore_result=True)
def verify_latest_answers() -> int:
    return rollups.verify() + latest_counts.verify()

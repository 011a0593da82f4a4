from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import OperationalError

from . import deliverability, services


@shared_task(acks_late=True, ignore_result=True)
def recompute_value_metrics() -> None:
    """Every customer (the admin's action)."""
    services.recompute_value_metrics()


@shared_task(acks_late=True, ignore_result=True)
def recompute_value_metrics_nightly() -> None:
    """Celery beat's nightly run: incremental, every customer on the first night and once a week."""
    services.recompute_value_metrics_nightly()


@shared_task(acks_late=True, ignore_result=True)
def recompute_customers_value_metrics(customer_ids: list[int]) -> None:
    """After these customers' invoices or cost or activity were written."""
    services.recompute_customers_value_metrics(customer_ids=customer_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True, ignore_result=True)
def apply_delivery_event(event_id: int) -> bool:
    return deliverability.apply_delivery_event(event_id=event_id)


@shared_task(acks_late=True, ignore_result=True)
def apply_unapplied_delivery_events() -> int:
    return deliverability.apply_unapplied_delivery_events()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True, ignore_result=True)
def record_delivery_event(*, occurred_at: str = "", **fields: str) -> None:
    """A provider's delivery event, as customers.deliverability.event_fields wrote it:
    kept for the messages an older release left in the queue."""
    deliverability.record_delivery_event(
        occurred_at=datetime.fromisoformat(occurred_at) if occurred_at else None, **fields
    )

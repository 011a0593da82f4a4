from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def recompute_value_metrics() -> None:
    services.recompute_value_metrics()

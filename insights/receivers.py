"""Hand-offs from what surveys and customers announce: one line each, the work happens
in tasks."""

from __future__ import annotations

from core.queue import enqueue

from . import tasks
from .alerts import services

RAISE_UNREACHABLE_ALERT = "insights.tasks.raise_unreachable_alert"


def evaluate_recorded_response(sender, response_id: int, **kwargs) -> None:
    enqueue(tasks.evaluate_response, response_id)


def contact_became_unreachable(sender, customer_id: int, **kwargs) -> None:
    enqueue(RAISE_UNREACHABLE_ALERT, customer_id)


def contact_erased(sender, customer_id: int, email: str, name: str, **kwargs) -> None:
    # Inside the erasing transaction, synchronously: a failure rolls the erasure back.
    services.forget_contact(customer_id=customer_id, email=email, name=name)

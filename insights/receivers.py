"""Hand-offs from what surveys and customers announce: one line each, the work happens
in tasks."""

from __future__ import annotations

from core.queue import enqueue
from surveys.suspicion import SETTLE_MARGIN, quiet_period

from . import tasks
from .alerts import services

RAISE_UNREACHABLE_ALERT = "insights.tasks.raise_unreachable_alert"


def evaluate_recorded_response(sender, response_id: int, **kwargs) -> None:
    # Once the answer has been quiet for its period (a moment late: a task that still
    # comes early waits for it); a correction meanwhile queues its own, and this one
    # finds nothing to do.
    enqueue(tasks.evaluate_response, response_id, countdown=quiet_period().total_seconds() + SETTLE_MARGIN)


def contact_became_unreachable(sender, customer_id: int, **kwargs) -> None:
    enqueue(RAISE_UNREACHABLE_ALERT, customer_id)


def contact_erased(sender, customer_id: int, email: str, name: str, **kwargs) -> None:
    # Inside the erasing transaction, synchronously: a failure rolls the erasure back.
    services.forget_contact(customer_id=customer_id, email=email, name=name)

"""Hand-offs from what surveys and customers announce: one line each, the work happens
in tasks."""

from __future__ import annotations

from core.queue import enqueue
from surveys.suspicion import SETTLE_MARGIN, quiet_period

from . import tasks
from .alerts import services
from .dashboard import counts, first_answers, latest_counts, rollups

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


# What the rollups hold of an answer: a save that changes none of them changes nothing.
COUNTED_FIELDS = {"score", "band", "is_suspect", "submitted_at", "survey", "customer"}


def _counts(raw: bool, update_fields) -> bool:
    # Fixtures being loaded (raw) are counted by `rebuild_insights_rollups` afterwards.
    return not raw and (update_fields is None or bool(COUNTED_FIELDS & set(update_fields)))


def answer_changing(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    # What a changed answer counted as, read before it is overwritten.
    instance._counted_before = counts.counted_before(instance) if _counts(raw, update_fields) else None


def answer_saved(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    # In the saving transaction: one statement each keeps the customer's latest answer
    # and the day's counts.
    if _counts(raw, update_fields):
        rollups.answer_saved(instance)
        counts.answer_saved(instance, before=getattr(instance, "_counted_before", None))


def invitation_answered(sender, invitation, response, **kwargs) -> None:
    # In the answering transaction: the first answer counted, as answer_saved counts a
    # changed one (a first answer is written without a model save).
    first_answers.first_answer(invitation, response)


def answer_deleted(sender, instance, **kwargs) -> None:
    # In the deleting transaction: the customer's latest answers found again.
    rollups.answer_deleted(instance)


def latest_answer_deleted(sender, instance, **kwargs) -> None:
    latest_counts.latest_answer_deleted(instance)


def customers_changed(sender, customer_ids, **kwargs) -> None:
    # In the changing transaction: the latest answers' counts follow the customers.
    latest_counts.customers_changed(customer_ids=customer_ids)


# What LatestAnswerCount counts a customer under.
CUSTOMER_COUNTED_FIELDS = {"tier", "account_manager", "account_manager_id", "revenue_12m", "is_active"}


def customer_saved(sender, instance, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    # A new customer has no answers yet; fixtures are counted by `rebuild_insights_rollups`.
    if not created and not raw and (update_fields is None or CUSTOMER_COUNTED_FIELDS & set(update_fields)):
        latest_counts.customers_changed(customer_ids=[instance.pk])


def manager_deleted(sender, instance, **kwargs) -> None:
    latest_counts.customers_changed(customer_ids=None)

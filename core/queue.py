"""Enqueueing background work so that a web request never fails because the broker is down."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any, **kwargs: Any) -> None:
    """Publishes `task` now; a failure is logged, never raised (see enqueue_on_commit)."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception:
        logger.exception("Could not enqueue %s args=%r; the periodic sweep will retry", task.name, args)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Publishes `task` once the current transaction commits (nothing if it rolls back),
    and once only: the same task with the same arguments asked for again inside one
    transaction (an import writing chunk after chunk) is published a single time.

    A publish failure is logged, never raised: the row the task would act on is
    already committed, and a periodic sweep picks it up when the broker is back.
    """
    key = (task.name, args, tuple(sorted(kwargs.items())))
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(callback, "enqueue_key", None) == key for _, callback, _ in connection.run_on_commit
    ):
        return

    def publish() -> None:
        enqueue(task, *args, **kwargs)

    publish.enqueue_key = key  # type: ignore[attr-defined]
    transaction.on_commit(publish)

"""Enqueueing background work so that a web request never fails because the broker is down.

Services name their tasks ("customers.tasks.recompute_value_metrics") instead of
importing them, so that tasks import services and never the other way round.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def _name(task: Task | str) -> str:
    return task if isinstance(task, str) else task.name


def _task(task: Task | str) -> Task:
    """The task itself. A task's name is its module's path plus its function's name, so
    importing that module registers it (a web process never imports tasks otherwise)."""
    if not isinstance(task, str):
        return task
    import_module(task.rpartition(".")[0])
    return current_app.tasks[task]


def publish(task: Task | str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Publishes `task` (a task or its name) now, to run at once or `countdown` seconds
    later, raising when the broker cannot take it: for a caller with nothing a sweep
    could find again, whose own caller retries on an error (a provider's webhook sends
    the event again after a 5xx)."""
    _task(task).apply_async(args=args, kwargs=kwargs, countdown=countdown)


def enqueue(task: Task | str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Publishes `task` (a task or its name) now, to run at once or `countdown` seconds
    later; a failure is logged, never raised (see enqueue_on_commit)."""
    try:
        publish(task, *args, countdown=countdown, **kwargs)
    except Exception:
        logger.exception("Could not enqueue %s args=%r; the periodic sweep will retry", _name(task), args)


def enqueue_on_commit(task: Task | str, *args: Any, **kwargs: Any) -> None:
    """Publishes `task` (a task or its name) once the current transaction commits
    (nothing if it rolls back), and once only: the same task with the same arguments
    asked for again inside one transaction (an import writing chunk after chunk) is
    published a single time.

    A publish failure is logged, never raised: the row the task would act on is
    already committed, and a periodic sweep picks it up when the broker is back.
    """
    key = (_name(task), args, tuple(sorted(kwargs.items())))
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(callback, "enqueue_key", None) == key for _, callback, _ in connection.run_on_commit
    ):
        return

    def publish() -> None:
        enqueue(task, *args, **kwargs)

    publish.enqueue_key = key  # type: ignore[attr-defined]
    transaction.on_commit(publish)

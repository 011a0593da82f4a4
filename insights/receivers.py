"""Hand-offs from what surveys announce: one line each, the work happens in tasks."""

from __future__ import annotations

from core.queue import enqueue

from . import tasks


def evaluate_recorded_response(sender, response_id: int, **kwargs) -> None:
    enqueue(tasks.evaluate_response, response_id)

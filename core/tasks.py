"""Thin Celery tasks: each calls one service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import outbox


@shared_task(acks_late=True, ignore_result=True)
def send_outbox() -> int:
    return outbox.send_due()


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox() -> int:
    """Every minute: what a dead worker left unfinished goes again, then whatever is due."""
    outbox.release_stuck()
    return outbox.send_due()

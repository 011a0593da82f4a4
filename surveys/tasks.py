"""Thin Celery tasks: each calls one service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def send_due_invitations() -> int:
    return services.send_due_invitations()


@shared_task(acks_late=True, ignore_result=True)
def send_due_reminders() -> int:
    return services.send_due_reminders()


@shared_task(acks_late=True, ignore_result=True)
def expire_invitations() -> int:
    return services.expire_invitations()

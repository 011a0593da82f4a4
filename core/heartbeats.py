"""What the background processes write so that web processes can tell they are alive
and what they did: each Celery worker's heartbeat, beat's tick, and every task's runs
and failures (read by core.health and core.metrics). Connected in CoreConfig.ready;
a failure to record is logged and never stops a worker or beat."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from .models import Heartbeat, TaskTally

logger = logging.getLogger(__name__)


def record_heartbeat(name: str) -> None:
    """`name` is alive now (one row per name, written over)."""
    now = timezone.now()
    if Heartbeat.objects.filter(name=name).update(seen_at=now):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.create(name=name, seen_at=now)
    except IntegrityError:  # another process wrote it first: write over theirs
        Heartbeat.objects.filter(name=name).update(seen_at=now)


def count_task_run(task: str, *, failed: bool) -> None:
    changes = {"runs": F("runs") + 1, "failures": F("failures") + int(failed)}
    if TaskTally.objects.filter(task=task).update(**changes):
        return
    try:
        with transaction.atomic():
            TaskTally.objects.create(task=task, runs=1, failures=int(failed))
    except IntegrityError:
        TaskTally.objects.filter(task=task).update(**changes)


def _safely(what: str, record, *args: Any, **kwargs: Any) -> None:
    try:
        record(*args, **kwargs)
    except Exception:  # noqa: BLE001 - health bookkeeping never stops the work
        logger.warning("Could not record %s", what, exc_info=True)


# --- The worker: a heartbeat thread in its main process, and a tally of each task.
_stop_heartbeats = threading.Event()


def _beat_heartbeats(name: str) -> None:
    while not _stop_heartbeats.is_set():
        close_old_connections()  # this thread's own connection: a broken one is replaced
        _safely("the worker heartbeat", record_heartbeat, name)
        _stop_heartbeats.wait(settings.HEARTBEAT_SECONDS)


def worker_ready(sender: Any = None, **kwargs: Any) -> None:
    name = f"worker:{getattr(sender, 'hostname', None) or socket.gethostname()}"
    _stop_heartbeats.clear()
    threading.Thread(target=_beat_heartbeats, args=(name,), name="heartbeat", daemon=True).start()


def worker_shutdown(**kwargs: Any) -> None:
    _stop_heartbeats.set()


def task_finished(sender: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if sender is None or getattr(sender.request, "is_eager", False):
        return  # run inline (tests, no broker): no worker to account for
    _safely("a task run", count_task_run, sender.name, failed=state == "FAILURE")


# --- Beat: its tick is the time it last sent a periodic task (written at most every 10 s).
_beat = {"running": False, "recorded": 0.0}


def beat_started(**kwargs: Any) -> None:
    _beat["running"] = True
    _safely("beat's tick", record_heartbeat, "beat")
    _beat["recorded"] = time.monotonic()


def task_sent(**kwargs: Any) -> None:
    if not _beat["running"] or time.monotonic() - _beat["recorded"] < 10:
        return
    _safely("beat's tick", record_heartbeat, "beat")
    _beat["recorded"] = time.monotonic()


def connect() -> None:
    from celery import signals

    signals.worker_ready.connect(worker_ready, dispatch_uid="core-worker-heartbeat")
    signals.worker_shutdown.connect(worker_shutdown, dispatch_uid="core-worker-heartbeat-stop")
    signals.task_postrun.connect(task_finished, dispatch_uid="core-task-tally")
    signals.beat_init.connect(beat_started, dispatch_uid="core-beat-started")
    signals.before_task_publish.connect(task_sent, dispatch_uid="core-beat-tick")

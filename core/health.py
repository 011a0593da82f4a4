"""Is this installation healthy? Each check is a small function a test can call, and
/health/ready (core.views.health_ready) runs them all.

The worker and beat prove they are alive by writing Heartbeat rows (core.heartbeats),
which every web process can read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from .models import Heartbeat, OutgoingMessage


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} answers"


def check_cache() -> str:
    """The cache (Redis with REDIS_URL) keeps the rate limits: a value written is read back."""
    key, value = f"health:{uuid.uuid4().hex}", str(time.time())
    cache.set(key, value, 10)
    read = cache.get(key)
    cache.delete(key)
    if read != value:
        raise RuntimeError("a value written to the cache was not read back")
    return "a value written was read back"


def check_broker() -> str:
    with current_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return f"{broker.transport_cls} broker connected"


def _heartbeat_age(heartbeat: Heartbeat | None, *, limit: int, never: str, late: str) -> float:
    """Seconds since `heartbeat`; raises `never` when there is none, `late` past `limit`."""
    if heartbeat is None:
        raise RuntimeError(never)
    age = max((timezone.now() - heartbeat.seen_at).total_seconds(), 0.0)
    if age > limit:
        raise RuntimeError(late.format(name=heartbeat.name, age=age))
    return age


def check_worker() -> str:
    newest = Heartbeat.objects.filter(name__startswith="worker:").order_by("-seen_at").first()
    age = _heartbeat_age(newest, limit=settings.HEALTH_WORKER_MAX_AGE, never="no Celery worker has ever sent a heartbeat",
                         late="the last worker heartbeat ({name}) is {age:.0f} s old")
    return f"{newest.name} seen {age:.0f} s ago"


def check_beat() -> str:
    age = _heartbeat_age(Heartbeat.objects.filter(name="beat").first(), limit=settings.HEALTH_BEAT_MAX_AGE,
                         never="beat has never sent a periodic task", late="beat last sent a periodic task {age:.0f} s ago")
    return f"beat ticked {age:.0f} s ago"


def oldest_due_message_age(now: datetime | None = None) -> float:
    """Seconds the oldest message due in the outbox has waited; 0 when none waits."""
    now = now or timezone.now()
    oldest = OutgoingMessage.objects.filter(
        status=OutgoingMessage.Status.QUEUED, next_attempt_at__lte=now
    ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def check_outbox(now: datetime | None = None) -> str:
    age = oldest_due_message_age(now)
    if age > settings.HEALTH_OUTBOX_MAX_AGE:
        raise RuntimeError(f"the oldest due message has waited {age:.0f} s")
    return f"the oldest due message has waited {age:.0f} s"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
    "outbox": check_outbox,
}
# These read the database: with the database down they fail as it does.
_NEED_DATABASE = {"worker", "beat", "outbox"}


def run_checks() -> list[Check]:
    results: list[Check] = []
    for name, check in CHECKS.items():
        if name in _NEED_DATABASE and not results[0].ok:
            results.append(Check(name, False, "not checked: the database is unavailable"))
            continue
        try:
            results.append(Check(name, True, check()))
        except Exception as error:  # noqa: BLE001 - any failure is the check's answer
            results.append(Check(name, False, f"{type(error).__name__}: {error}"))
    return results

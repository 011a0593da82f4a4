"""A task for `make bench` only: the bare Celery round trip the alert latency (row P5)
is printed beside. A worker imports it with `--include tests.benchmarks.bench_tasks`."""

from __future__ import annotations

from functools import cache

import redis
from celery import shared_task
from django.conf import settings


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="bench.round_trip", ignore_result=True)
def round_trip(key: str) -> None:
    """Does nothing but answer: pushes to `key`, which the benchmark waits on, as a
    client waits on a task's result in Redis."""
    _redis().rpush(key, "done")

"""The real services some tests need, and a clear message when one is missing."""

from __future__ import annotations

import os

import redis
from django.db import connection

from tests.conftest import require_service
from tests.support.parallel import redis_url_of_this_worker

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def require_redis() -> str:
    """The Redis URL to use; fails under CI and skips elsewhere when Redis is down."""
    # REDIS_URL is this process's already (tests/settings.py); the default is shared.
    url = os.environ.get("REDIS_URL") or redis_url_of_this_worker(DEFAULT_REDIS_URL)
    require_service(
        redis_reachable(url),
        f"Redis at {url}",
        "Start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379` or set REDIS_URL.",
    )
    return url


def require_postgresql() -> None:
    require_service(
        connection.vendor == "postgresql",
        "PostgreSQL (this run uses SQLite)",
        "Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/valuepulse, as `.ci/run` does.",
    )


def clear_cache() -> None:
    """Empties the cache a test starts from (rate limits, throttles, cached documents).
    On Redis through a client of its own that waits up to 10 s: the cache's own gives up
    after a quarter of a second, as a request should, and a FLUSHDB failed a test's set-up
    that way while two test processes and a browser shared the machine's cores."""
    from django.conf import settings
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    location = settings.CACHES["default"]["LOCATION"]
    client = redis.Redis.from_url(location, socket_connect_timeout=10, socket_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()

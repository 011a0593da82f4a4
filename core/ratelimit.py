"""Per-client request limits for public pages and the API, counted in the shared cache.

With REDIS_URL set the counters live in Redis, so a limit holds across every web
process and machine; without it each process counts on its own (see settings.CACHES).
Fixed windows: simple, one atomic increment a request, and enough to stop a client
hammering link tokens or the API.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from functools import cache, wraps

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis import ConnectionPool, Redis
from redis.commands.core import Script

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    """The client's IP, as the rate limits, the sign-in lockout and the API throttles see it.

    With settings.TRUSTED_PROXY_HOPS = N > 0, N proxies we run stand in front of the app,
    each appending the address it received the request from to X-Forwarded-For, and
    REMOTE_ADDR is the last of them: the client is the N-th entry from the right.
    Entries further left are whatever the client wrote, and never trusted. A header too
    short or not an address there means the request did not come through our proxies as
    configured: the proxy's own address (REMOTE_ADDR) stands for it, which may limit it
    sooner but never lets it choose its address."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def count_request(*, scope: str, client: str, window_seconds: int = WINDOW_SECONDS) -> int:
    """Counts one request of `client` in `scope` for the current window and returns the
    window's count so far; 0 when the cache cannot be reached."""
    window = int(time.time() // window_seconds)
    key = f"ratelimit:{scope}:{client}:{window_seconds}:{window}"
    try:
        return _increment(key, timeout=window_seconds * 2)
    except Exception:
        # The limit protects the site; an unreachable cache must not take it down.
        logger.warning("Rate limit counter unavailable for %s; letting the request through", scope, exc_info=True)
        return 0


# INCR, and a counter new in this window gets its time to live: atomic, as one command.
COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _increment(key: str, *, timeout: int) -> int:
    """Adds one to the counter `key`, made with `timeout` seconds to live when new. In
    Redis one command (COUNT_SCRIPT, by its digest) serves every request of a public
    page: a MULTI of SET NX and INCR took four commands and their four replies, parsed
    on the hottest public path (issue 15). Another cache counts with its own add and incr."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        backend.add(key, 0, timeout=timeout)
        return backend.incr(key)
    count = _count_script(backend._cache._get_connection_pool(write=True))
    return count(keys=[backend.make_and_validate_key(key)], args=[timeout])


@cache
def _count_script(pool: ConnectionPool) -> Script:
    """COUNT_SCRIPT on this pool's client; redis-py loads it into Redis when Redis does
    not know its digest (the first call, or after a restart of Redis)."""
    return _redis_client(pool).register_script(COUNT_SCRIPT)


@cache
def _redis_client(pool: ConnectionPool) -> Redis:
    """One client per connection pool for this process's life. Django's cache makes a
    new one for each call, and building one (its table of reply parsers) cost 0.2 ms,
    as much as the round trip to Redis; a client is only a handle on the shared pool."""
    return Redis(connection_pool=pool)


def seconds_left_in_window(window_seconds: int = WINDOW_SECONDS) -> int:
    return window_seconds - int(time.time()) % window_seconds


def is_over_limit(*, scope: str, client: str, limit: int) -> bool:
    return count_request(scope=scope, client=client) > limit


def rate_limited(
    scope: str, *, setting: str = "PUBLIC_RATE_LIMIT", exempt: Callable[[HttpRequest], bool] | None = None
) -> Callable:
    """Answers 429 with a friendly page once a client passes `setting` (a number of
    requests a minute, settings.PUBLIC_RATE_LIMIT by default) to views of this scope.
    Requests `exempt` says yes to are not counted here."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if exempt is not None and exempt(request):
                return view(request, *args, **kwargs)
            if is_over_limit(scope=scope, client=client_address(request), limit=getattr(settings, setting)):
                response = render(request, "429.html", status=429)
                # The counter starts afresh with the next window: no need to wait a whole one.
                response["Retry-After"] = str(seconds_left_in_window())
                return response
            return view(request, *args, **kwargs)

        return limited

    return decorator

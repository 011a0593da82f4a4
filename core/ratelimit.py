"""Per-client request limits for public pages, counted in the shared cache.

With REDIS_URL set the counters live in Redis, so a limit holds across every web
process and machine. A fixed one-minute window: simple, and enough to stop a client
hammering link tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    """The client's IP. Behind a trusted proxy, the address that proxy saw (the last
    X-Forwarded-For entry); anything before it is what the client claimed."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def is_over_limit(*, scope: str, client: str, limit: int) -> bool:
    window = int(time.time() // WINDOW_SECONDS)
    key = f"ratelimit:{scope}:{client}:{window}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        count = cache.incr(key)
    except Exception:
        # The limit protects the site; an unreachable cache must not take it down.
        logger.warning("Rate limit counter unavailable for %s; letting the request through", scope, exc_info=True)
        return False
    return count > limit


def rate_limited(
    scope: str, *, setting: str = "PUBLIC_RATE_LIMIT", exempt: Callable[[HttpRequest], bool] | None = None
) -> Callable:
    """Answers 429 with a friendly page once a client passes `setting` (a number of
    requests a minute, settings.PUBLIC_RATE_LIMIT by default) to views of this scope.
    Requests `exempt` says yes to are never counted."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if exempt is not None and exempt(request):
                return view(request, *args, **kwargs)
            if is_over_limit(scope=scope, client=client_address(request), limit=getattr(settings, setting)):
                response = render(request, "429.html", status=429)
                response["Retry-After"] = str(WINDOW_SECONDS)
                return response
            return view(request, *args, **kwargs)

        return limited

    return decorator

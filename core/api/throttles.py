"""The API's throttles: per token for callers with credentials, per client address for
the rest, with rates read from settings on every call (API_USER_RATE, API_ANON_RATE).

They count with core.ratelimit's atomic counter in the shared cache, not with DRF's
own history list, which reads and rewrites a list per call and so loses counts when
two web processes serve one client at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from core.ratelimit import client_address, count_request, seconds_left_in_window

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _CountingThrottle(SimpleRateThrottle):
    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def allow_request(self, request: Request, view: APIView) -> bool:
        caller = self.get_cache_key(request, view)
        if caller is None:
            return True
        count = count_request(scope=self.scope, client=caller, window_seconds=self.duration)
        self.wait_seconds = seconds_left_in_window(self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.wait_seconds


class TokenRateThrottle(_CountingThrottle):
    """API_USER_RATE per API token; a browser session (the browsable docs) counts per user."""

    scope = "api-token"
    rate_setting = "API_USER_RATE"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        # knox's AuthToken: its digest names one token for good (ids come back after a rollback).
        digest = getattr(request.auth, "digest", None)
        return f"token-{digest}" if digest else f"user-{request.user.pk}"


class AddressRateThrottle(_CountingThrottle):
    """API_ANON_RATE per client address for calls without credentials."""

    scope = "api-anonymous"
    rate_setting = "API_ANON_RATE"

    def get_ident(self, request: Request) -> str:
        return client_address(request)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        # After a failed authentication DRF has already set request.user to anonymous.
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)

"""What a person sees when django-axes refuses a sign-in for too many failures, on
/login/ and /admin/login/ alike (settings.AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    # The cool-off axes enforces (settings.LOGIN_LOCKOUT_MINUTES), so the page never says otherwise.
    seconds = int(get_cool_off(request).total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60), "username": (credentials or {}).get("username", "")},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response

"""What a person sees when django-axes refuses a sign-in for too many failures, on
/login/ and /admin/login/ alike (settings.AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "username": (credentials or {}).get("username", "")},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response

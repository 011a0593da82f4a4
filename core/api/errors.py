"""Django's own error answers (an address no route matches, a request Django refuses
before any view, a crash) as JSON under /api/, so an API client never has to read an
HTML page; everywhere else the site's pages, as before."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core import outage

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a lost database is an outage (503).
    exc = sys.exc_info()[1]
    if outage.is_database_outage(exc):
        outage.log_outage(request, exc)
        if _is_api(request):
            response = JsonResponse({"detail": outage.DETAIL}, status=503)
            response["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
            return response
        return outage.unavailable_page(request)
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)

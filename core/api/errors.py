"""Error answers. Django's own (an address no route matches, a request Django refuses
before any view, a crash) as JSON under /api/, so an API client never has to read an
HTML page; everywhere else the site's pages, as before. And DRF's, for API views
(settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]): a lost database is a 503, and a call
turned away for its credentials counts against its address."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core import outage
from core.api.throttles import AddressRateThrottle

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


class DatabaseUnavailable(APIException):
    status_code = 503
    default_detail = outage.DETAIL
    default_code = "service_unavailable"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with one addition: a call turned away for missing or wrong
    credentials counts against its address at API_ANON_RATE, and past that rate the
    answer is 429 with Retry-After instead of 401, so that guessing tokens is throttled.
    (DRF checks throttles only after authentication and permissions have passed.)
    And a lost database (core.outage) answers 503 with Retry-After, its transaction rolled back."""
    if outage.is_database_outage(exc):
        outage.log_outage(context["request"], exc)
        response = drf_exception_handler(DatabaseUnavailable(), context)
        response["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
        request, view = context["request"], context["view"]
        throttle = AddressRateThrottle()
        if not throttle.allow_request(request, view):
            exc = Throttled(wait=throttle.wait())
    return drf_exception_handler(exc, context)

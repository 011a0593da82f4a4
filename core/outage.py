"""A database that cannot be reached (stopped, failing over, out of connections) is an
outage, not a crash: every request answers 503 with Retry-After, JSON under /api/ and a
friendly page elsewhere, logged with what was asked, never a stack trace. Nothing was
written: the request's transaction never began or is rolled back.

core.api.errors.server_error (Django's handler500, which every error a view or a
middleware raises reaches) and core.api.errors.exception_handler (DRF's, for API
views) both ask `is_database_outage` first."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

logger = logging.getLogger(__name__)

# How long a client is asked to wait before trying again (seconds): a restart or a failover.
RETRY_AFTER_SECONDS = 30
DETAIL = "The service is briefly unavailable. Please try again in a moment."


def is_database_outage(exc: BaseException | None) -> bool:
    """The database refused or lost the connection (Django wraps the driver's errors)."""
    return isinstance(exc, OperationalError | InterfaceError)


def log_outage(request: HttpRequest, exc: BaseException) -> None:
    logger.error(
        "Database unavailable: %s %s answered 503 (%s: %s)",
        request.method, request.path, type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc) else "",
    )


def unavailable_page(request: HttpRequest) -> HttpResponse:
    """The standalone 503 page: rendered with no request context, which would need the
    database (the session, the user) that is gone."""
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it, for type hints in views."""

    htmx: HtmxDetails


def see_other(url: str) -> HttpResponseRedirect:
    """303: after a POST the browser GETs the next page, and a reload posts nothing."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """An htmx request swaps a part of the page in. A history restore after a cache miss
    replaces the whole body, so it needs the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_or_fragment(
    request: HtmxHttpRequest,
    *,
    page: str,
    fragment: str,
    context: dict[str, Any],
    page_context: Callable[[], dict[str, Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    """One URL, two renders: only `fragment` for htmx, the whole `page` otherwise.

    `page_context` adds what only the page shows (filter choices, menus), so that a
    fragment request does not query for it.
    """
    if wants_fragment(request):
        response = render(request, fragment, context, status=status)
    else:
        response = render(request, page, {**context, **(page_context() if page_context else {})}, status=status)
    # One URL answers with a page or a fragment: the browser cache must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it, for type hints in views."""

    htmx: HtmxDetails


def see_other(url: str) -> HttpResponseRedirect:
    """303: after a POST the browser GETs the next page, and a reload posts nothing."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response

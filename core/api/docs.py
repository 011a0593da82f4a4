"""The API's OpenAPI schema and its Swagger UI, for signed-in people and token holders only."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served from a second address (`?script`), so
    the page runs under the Content-Security-Policy without inline script. An anonymous
    browser is sent to the login page instead of a bare 401."""

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)

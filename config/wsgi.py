"""The WSGI entry point (gunicorn config.wsgi:application).

Requests for the respondent's pages (settings.SURVEY_PAGES_PATH) go to a handler whose
middleware is settings.SURVEY_PAGES_MIDDLEWARE, the rest to Django's usual handler: same
settings, same URLs, a shorter chain on the hottest public path (issue 15)."""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()
# The URLconf, and with it every view, imported now rather than on the first request:
# gunicorn preloads this module in its master (preload_app), so its workers share them
# instead of each spending seconds importing them while its first requests wait.
get_resolver().url_patterns  # noqa: B018 - importing is the point


class SurveyPagesHandler(WSGIHandler):
    """Django's WSGI handler with settings.SURVEY_PAGES_MIDDLEWARE for its middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE: lent the short list for the
        # build, once, when the process starts.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.SURVEY_PAGES_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


survey_pages = SurveyPagesHandler()


def application(environ, start_response):
    handler = survey_pages if environ.get("PATH_INFO", "").startswith(settings.SURVEY_PAGES_PATH) else site
    return handler(environ, start_response)

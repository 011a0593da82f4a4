import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URLconf, and with it every view, imported now rather than on the first request:
# gunicorn preloads this module in its master (preload_app), so its workers share them
# instead of each spending seconds importing them while its first requests wait.
get_resolver().url_patterns  # noqa: B018 - importing is the point

"""WSGI entry of the baseline projects; DJANGO_SETTINGS_MODULE names which one."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

"""Start-up checks: a misconfigured email backend is named by `manage.py check` (and so
by every runserver and migrate), not by the first message that fails to go."""

from __future__ import annotations

from django.conf import settings
from django.core import checks, mail
from django.core.exceptions import ImproperlyConfigured


def email_backend_starts(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        # Backends read their settings when made and connect only when opened.
        mail.get_connection()
    except ImproperlyConfigured as error:  # anymail's errors name the missing setting
        hint = None
        if settings.EMAIL_PROVIDER:
            hint = "A provider's settings come from ANYMAIL_<SETTING> environment variables."
        return [
            checks.Error(f"The email backend {settings.EMAIL_BACKEND} cannot start: {error}", hint=hint, id="core.E001")
        ]
    return []

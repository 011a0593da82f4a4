from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, bool]:
    # The mailbox only exists while mail is kept locally; linking it otherwise leads to a 404.
    return {"mailbox_enabled": settings.EMAIL_BACKEND == "config.mailbox.MailboxBackend"}

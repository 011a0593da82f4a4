from __future__ import annotations

from django.http import HttpRequest

from . import mailbox


def navigation(request: HttpRequest) -> dict[str, bool]:
    # The mailbox only exists while mail is kept locally; linking it otherwise leads to a 404.
    return {"mailbox_enabled": mailbox.is_enabled()}

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .alerts.queries import open_alert_count


def open_alerts(request: HttpRequest) -> dict[str, object]:
    """The navigation's count of open alerts. Lazy: one COUNT, only when a page shows it
    (signed-in pages); public pages and fragments never ask, so they pay nothing."""
    return {"open_alert_count": SimpleLazyObject(lambda: open_alert_count(request.user))}

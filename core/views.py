from __future__ import annotations

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib.admin.views.decorators import staff_member_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from prometheus_client import CONTENT_TYPE_LATEST

from . import health, metrics
from . import mailbox as dev_mailbox


def _require_mailbox() -> None:
    if not dev_mailbox.is_enabled():
        raise Http404("Mail is sent over SMTP; there is no local mailbox.")


@staff_member_required
def mailbox(request: HttpRequest) -> HttpResponse:
    _require_mailbox()
    return render(request, "mailbox/list.html", {"messages_": dev_mailbox.list_messages()})


def _read_message(name: str) -> dev_mailbox.MailboxMessage:
    _require_mailbox()
    try:
        return dev_mailbox.read_message(name)
    except FileNotFoundError:
        raise Http404("No such message.") from None


@staff_member_required
def mailbox_message(request: HttpRequest, name: str) -> HttpResponse:
    message = _read_message(name)
    return render(
        request,
        "mailbox/message.html",
        {"message": message, "has_html": bool(message.body("html")), "text": message.body("plain")},
    )


# An email's HTML part keeps the inline styles every mail client needs, so it cannot be
# shown under the site's policy. It gets an address and a policy of its own: inline
# styles and data: images only, no script, no form, a sandbox (an opaque origin that
# cannot reach this site's cookies or pages), framed only by the mailbox page.
_EMAIL_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox", "allow-top-navigation-by-user-activation"],
}


@staff_member_required
@xframe_options_sameorigin
@csp(_EMAIL_POLICY)
def mailbox_message_html(request: HttpRequest, name: str) -> HttpResponse:
    html = _read_message(name).body("html")
    if not html:
        raise Http404("This message has no HTML part.")
    # Links open in a new tab: the mail is shown in a frame.
    return HttpResponse('<base target="_blank">' + html, content_type="text/html; charset=utf-8")


# --- Health and metrics (README "Running in production").
@never_cache
def health_live(request: HttpRequest) -> HttpResponse:
    """The process is up and answers; touches nothing else (a restart would not help)."""
    return JsonResponse({"status": "ok"})


def _wants_json(request: HttpRequest) -> bool:
    return request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", "")


def _sees_details(request: HttpRequest) -> bool:
    """The monitoring (core.metrics.may_read) and signed-in staff see each check; anyone
    else only the status code and a one-word body."""
    if metrics.may_read(request):
        return True
    try:
        return request.user.is_active and request.user.is_staff
    except DatabaseError:  # the session cannot be read with the database down
        return False


@never_cache
def health_ready(request: HttpRequest) -> HttpResponse:
    """Ready for work: the database, cache, broker, a worker's heartbeat, beat's tick and
    the outbox (core.health). 200 when all pass, 503 otherwise."""
    checks = health.run_checks()
    healthy = all(check.ok for check in checks)
    status = "ok" if healthy else "unavailable"
    code = 200 if healthy else 503
    if not _sees_details(request):
        if _wants_json(request):
            return JsonResponse({"status": status}, status=code)
        return HttpResponse(f"{status}\n", content_type="text/plain", status=code)
    if _wants_json(request):
        return JsonResponse({
            "status": status,
            "failing": [check.name for check in checks if not check.ok],
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
        }, status=code)
    return render(request, "core/health.html", {"checks": checks, "healthy": healthy}, status=code)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics.may_read(request):
        return HttpResponse("Forbidden\n", content_type="text/plain", status=403)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

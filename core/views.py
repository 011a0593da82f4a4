from __future__ import annotations

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

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

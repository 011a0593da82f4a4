from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from . import mailbox as dev_mailbox


def _require_mailbox() -> None:
    if not dev_mailbox.is_enabled():
        raise Http404("Mail is sent over SMTP; there is no local mailbox.")


@staff_member_required
def mailbox(request: HttpRequest) -> HttpResponse:
    _require_mailbox()
    return render(request, "mailbox/list.html", {"messages_": dev_mailbox.list_messages()})


@staff_member_required
def mailbox_message(request: HttpRequest, name: str) -> HttpResponse:
    _require_mailbox()
    try:
        message = dev_mailbox.read_message(name)
    except FileNotFoundError:
        raise Http404("No such message.") from None
    return render(
        request,
        "mailbox/message.html",
        {"message": message, "html": message.body("html"), "text": message.body("plain")},
    )

"""Who is asking in the demo: a facilities company whose name, logo, reply-to address
and footer the survey pages and emails carry (Admin → Surveys → Senders)."""

from __future__ import annotations

from pathlib import Path

from surveys.models import Sender

LOGO = Path(__file__).with_name("logo.png")
NAME = "Brightwater Facilities"


def seed_sender() -> Sender:
    """The default sender, made unless staff already have one. The email leaves from
    DEFAULT_FROM_EMAIL's address (the one domain the site may send from) under the
    company's name; replies go to its customer care."""
    sender = Sender.objects.filter(is_default=True).first()
    if sender is not None:
        return sender
    sender = Sender(
        name=NAME,
        is_default=True,
        from_name=f"{NAME} customer care",
        reply_to="care@brightwater.example",
        footer="Brightwater Facilities Ltd · 24 Harbour Road, Leeds LS1 4AB · 0113 496 0732",
    )
    sender.set_logo(LOGO.read_bytes(), "image/png")
    sender.save()
    return sender

"""The one email builder: templates/emails/<name>_subject.txt, _body.txt and _body.html
rendered into a multipart message. Each app's emails.py has a short function per email."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build_email(
    name: str,
    *,
    context: dict,
    to: list[str],
    headers: dict[str, str] | None = None,
    from_email: str | None = None,
    reply_to: list[str] | None = None,
) -> EmailMultiAlternatives:
    """`from_email` None: settings.DEFAULT_FROM_EMAIL."""
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}_body.txt", context),
        from_email=from_email,
        to=to,
        reply_to=reply_to,
        headers=headers or {},
    )
    message.attach_alternative(render_to_string(f"emails/{name}_body.html", context), "text/html")
    return message


def absolute_url(path: str) -> str:
    """Links in emails point at settings.SITE_URL."""
    return settings.SITE_URL + path

"""The one email builder: templates/emails/<name>_subject.txt, _body.txt and _body.html
rendered into a multipart message. Each app's emails.py has a short function per email.

An email sent to many people alike (the survey email) is rendered once as a draft
(`EmailDraft.render`), with a stand-in (`blank("name")`) where each recipient's values
go, and filled in for each recipient (`EmailDraft.fill`): the same email `build_email`
would have made, at a fraction of the cost (templates render once, not once a message).
The filled email also carries its own bytes (`wire_bytes`), written without Python's
MIME generator, which the outbox hands to an SMTP connection as they are."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string

# RFC 5322: a line may not exceed 998 characters; Django quoted-prints a part that would.
LINE_LIMIT = 998
_BLANK = re.compile(r"__vpblank_([a-z_]+?)__")


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
    subject, body, html = _render(name, context)
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=from_email, to=to, reply_to=reply_to, headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def _render(name: str, context: dict) -> tuple[str, str, str]:
    return (
        " ".join(render_to_string(f"emails/{name}_subject.txt", context).split()),
        render_to_string(f"emails/{name}_body.txt", context),
        render_to_string(f"emails/{name}_body.html", context),
    )


def absolute_url(path: str) -> str:
    """Links in emails point at settings.SITE_URL."""
    return settings.SITE_URL + path


def blank(name: str) -> str:
    """A stand-in for one recipient's value in a draft's context (lower-case letters and
    underscores: autoescaping, URL quoting and template filters leave it as it is)."""
    return f"__vpblank_{name}__"


def fits_a_draft(value: str) -> bool:
    """Whether `value` can fill a blank: a line break would be rendered differently by
    filters such as linebreaksbr, and a stand-in must not be filled with another."""
    return "\n" not in value and "\r" not in value and "__vpblank_" not in value


@dataclass(frozen=True)
class EmailDraft:
    """One email rendered once, with blanks for what differs between recipients."""

    subject: str
    text: str
    html: str
    from_email: str | None = None
    reply_to: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def render(
        cls,
        name: str,
        *,
        context: dict,
        headers: dict[str, str] | None = None,
        from_email: str | None = None,
        reply_to: list[str] | None = None,
    ) -> EmailDraft:
        subject, text, html = _render(name, context)
        return cls(subject, text, html, from_email, reply_to, headers or {})

    def fill(self, values: dict[str, str], *, to: list[str]) -> FilledEmail:
        """The email for one recipient: each blank replaced by its value (HTML-escaped in
        the HTML part). Every value must fit (fits_a_draft)."""
        # html.escape, as Django's escape does, without its lazy-string wrapper: six values an email.
        escaped = {name: html.escape(str(value)) for name, value in values.items()}
        pieces = self._pieces
        message = FilledEmail(
            subject=" ".join(_filled(pieces["subject"], values).split()),
            body=_filled(pieces["text"], values),
            from_email=self.from_email,
            to=to,
            reply_to=self.reply_to,
            headers={name: _filled(pieces[f"header:{name}"], values) for name in self.headers},
        )
        message.attach_alternative(_filled(pieces["html"], escaped), "text/html")
        return message

    @cached_property
    def _pieces(self) -> dict[str, list[str]]:
        """Each text of the draft cut at its blanks, once a draft: its literal pieces and,
        between them, the blanks' names (what re.split gives), so that filling it in is a
        join instead of a search through the whole text for every recipient."""
        texts = {"subject": self.subject, "text": self.text, "html": self.html}
        texts.update((f"header:{name}", value) for name, value in self.headers.items())
        return {part: _BLANK.split(text) for part, text in texts.items()}


def _filled(pieces: list[str], values: dict[str, str]) -> str:
    """`pieces` (a text cut by _BLANK.split: literal, name, literal, …) with each blank's value."""
    filled = pieces.copy()
    filled[1::2] = [values[name] for name in pieces[1::2]]
    return "".join(filled)


class FilledEmail(EmailMultiAlternatives):
    """An email filled in from a draft: a Django email in every way, that can also write
    its own bytes quickly."""

    def wire_bytes(self) -> bytes | None:
        """The message as an SMTP server receives it (CRLF line ends): headers as Django
        writes them (left unfolded), a multipart/alternative of the text and HTML parts
        in UTF-8, 8bit. None when a part has a line too long to go 8bit: then only
        Django's message() (quoted-printable) will do."""
        parts = [self.body, *(content for content, _ in self.alternatives)]
        encoded = [_crlf(part).encode() for part in parts]
        if any(max(map(len, part.split(b"\r\n"))) > LINE_LIMIT for part in encoded):
            return None
        encoding = self.encoding or settings.DEFAULT_CHARSET
        headers = {"Subject": self.subject, "From": self.extra_headers.get("From", self.from_email),
                   "To": ", ".join(self.to)}
        if self.reply_to:
            headers["Reply-To"] = ", ".join(self.reply_to)
        names = {name.lower() for name in self.extra_headers}
        if "date" not in names:
            headers["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        if "message-id" not in names:
            headers["Message-ID"] = make_msgid(domain=DNS_NAME)
        headers.update(
            (name, value) for name, value in self.extra_headers.items()
            if name.lower() not in {"from", "to", "cc", "reply-to"}
        )
        boundary = "===============" + secrets.token_hex(16) + "=="
        lines = [_header_line(name, value, encoding) for name, value in headers.items()]
        lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
        out = ["\r\n".join(lines).encode()]
        subtypes = ["plain", *(mimetype.partition("/")[2] for _, mimetype in self.alternatives)]
        for subtype, body in zip(subtypes, encoded, strict=True):
            transfer = "7bit" if body.isascii() else "8bit"
            out.append(f'\r\n--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
                       f"Content-Transfer-Encoding: {transfer}\r\n\r\n".encode())
            out.append(body)
        out.append(f"\r\n--{boundary}--\r\n".encode())
        return b"".join(out)


@lru_cache(maxsize=512)
def _header_line(name: str, value: str, encoding: str) -> str:
    """One header as Django writes it (forbid_multi_line_headers: encoded, or refused if
    it has a line break): kept, as most of a batch's headers (its subject, sender,
    reply-to) are the same for every email, and encoding a subject costs more than
    all the rest of the line."""
    return _crlf("%s: %s" % forbid_multi_line_headers(name, value, encoding))


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")

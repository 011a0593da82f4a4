"""The development mailbox: where mail goes when no EMAIL_HOST is set.

Each message is written as an .eml file under settings.MAILBOX_DIR and can be
read, with working links, at /mailbox/ by a staff user. Nothing is lost silently.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage as ParsedMessage
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


def is_enabled() -> bool:
    """Mail is kept in the mailbox (no EMAIL_HOST); otherwise the mailbox pages are a 404."""
    return settings.EMAIL_BACKEND == "core.mailbox.MailboxBackend"


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(settings.MAILBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            temporary = folder / f".{name}.tmp"
            temporary.write_bytes(message.message().as_bytes(linesep="\r\n"))
            temporary.rename(folder / name)  # readers never see half a message
            sent += 1
        return sent


@dataclass(frozen=True)
class MailboxMessage:
    name: str
    parsed: ParsedMessage

    @property
    def subject(self) -> str:
        return str(self.parsed["Subject"] or "")

    @property
    def to(self) -> str:
        return str(self.parsed["To"] or "")

    @property
    def date(self) -> str:
        return str(self.parsed["Date"] or "")

    def body(self, subtype: str) -> str:
        part = self.parsed.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def list_messages(limit: int = 200) -> list[MailboxMessage]:
    folder = Path(settings.MAILBOX_DIR)
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.glob("*.eml")), reverse=True)[:limit]
    return [read_message(name) for name in names]


def read_message(name: str) -> MailboxMessage:
    """Reads one message by its file name; raises FileNotFoundError for anything else."""
    path = Path(settings.MAILBOX_DIR) / name
    if path.name != name or not name.endswith(".eml") or not path.is_file():
        raise FileNotFoundError(name)
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return MailboxMessage(name=name, parsed=parsed)

"""One message over an open SMTP connection, as smtplib's `sendmail` sends it, with the
sender's own work done while the server reads.

A mail server answers each step of a message (MAIL FROM, RCPT TO, DATA, then the data)
after a wait, and a worker sending a batch has work of its own between two messages:
recording the last one's outcome, building the next. Done between the messages, that
work adds to the server's waits; done during them, it costs next to nothing. The waits
suit it, and `sendmail` runs the caller's work in them:

- `after_mail_from`, once MAIL FROM is written and before its answer is read. The
  server cannot accept this message before its data, which is only written after this
  work (and `before_data`) has returned: work that must be finished before the message
  can be accepted (recording that the previous one went) fits here, and nowhere later.
  It runs even when MAIL FROM could not be written.
- `before_data`, once the server has answered DATA and before the data is written: the
  last moment such work can end (the outbox starts its UPDATE in `after_mail_from`
  and reads PostgreSQL's answer here, so that the statement runs while the server
  answers MAIL FROM, RCPT TO and DATA). It runs only if the server is ready for the data.
- `after_data`, once the data is written and before the server's answer: the server
  is taking the message in, the longest wait of them all. It runs only if the data
  was written.

Everything else is smtplib's own: EHLO when needed, the SIZE option where the server
offers it, the same exceptions (SMTPSenderRefused, SMTPRecipientsRefused for all
recipients refused, SMTPDataError) and the same RSET or close after a refusal.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Sequence

_LEADING_PERIOD = re.compile(rb"(?m)^\.")
# A bare address of plain ASCII letters, digits and _+- (dot-separated, each domain label
# of 1 to 63), and the same after a plain name ("Ann Lee <ann@example.com>"): what the
# email module's parsers, Django's sanitize_address and smtplib's quoteaddr each give
# back unchanged, so they need not run for it (they cost tens of microseconds a call).
_PLAIN_SPEC = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}"
PLAIN_ADDRESS = re.compile(_PLAIN_SPEC)
PLAIN_NAMED_ADDRESS = re.compile(rf"([A-Za-z0-9]+(?: [A-Za-z0-9]+)*) <({_PLAIN_SPEC})>")


def _nothing() -> None:
    pass


def sendmail(
    smtp: smtplib.SMTP,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    *,
    after_mail_from: Callable[[], None] = _nothing,
    before_data: Callable[[], None] = _nothing,
    after_data: Callable[[], None] = _nothing,
) -> dict[str, tuple[int, bytes]]:
    """Sends `data` (the message's bytes, CRLF line ends) from `sender` to `recipients`
    over `smtp`. Returns the recipients refused (the others got it), as smtplib does."""
    try:
        smtp.ehlo_or_helo_if_needed()
        options = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
        smtp.putcmd("mail", f"FROM:{_quoted(sender)}{options}")
    finally:
        after_mail_from()
    code, answer = smtp.getreply()
    if code != 250:
        _give_up(smtp, code)
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    refused = {}
    for recipient in recipients:
        smtp.putcmd("rcpt", f"TO:{_quoted(recipient)}")  # smtp.rcpt(recipient)
        code, answer = smtp.getreply()
        if code not in (250, 251):
            refused[recipient] = (code, answer)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        smtp._rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, answer = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, answer)
    before_data()
    quoted = _stuffed(data)
    smtp.send(quoted + (b".\r\n" if quoted.endswith(b"\r\n") else b"\r\n.\r\n"))
    after_data()
    code, answer = smtp.getreply()
    if code != 250:
        _give_up(smtp, code)
        raise smtplib.SMTPDataError(code, answer)
    return refused


def _stuffed(data: bytes) -> bytes:
    """`data` with a period doubled at the start of each line (RFC 5321's transparency),
    as smtplib does; most messages have no line starting with one, and finding that out
    costs a fraction of the substitution's pass over the whole message."""
    if not data.startswith(b".") and b"\n." not in data:
        return data
    return _LEADING_PERIOD.sub(b"..", data)


def _quoted(address: str) -> str:
    """smtplib.quoteaddr(address); a plain address (PLAIN_ADDRESS), which it would parse
    only to give back in angle brackets, is put in them directly."""
    return f"<{address}>" if PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _give_up(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: 421 means the server is closing the connection, anything else
    leaves it ready for the next message once reset."""
    if code == 421:
        smtp.close()
    else:
        smtp._rset()

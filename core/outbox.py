"""The outbox: every outgoing email is a row before it is anything else.

An app queues a message inside its own transaction (`queue`), naming its kind and the
row it is about. A worker claims due rows in a short transaction (SELECT … FOR UPDATE
SKIP LOCKED, status "sending", commit), builds and sends each with no transaction open
and no lock held, then records the outcome in another short transaction, where the
kind's hooks update the app's own rows. So:

- a message is sent at least once: a worker killed mid-send leaves its rows "sending",
  and `release_stuck` queues them again after settings.OUTBOX_SENDING_TIMEOUT; the one message it was
  sending may go twice, no other;
- one bad message (an address the server refuses, a template error) fails alone with
  its reason, and never holds back or repeats the others;
- one retry policy (core.retry) serves every kind.

Apps register their kinds in an `outbox.py` module (found at start-up like admin.py):
`register("survey-invitation", MessageKind(build=…, sent=…, given_up=…))`. `build`
renders the message at send time from the app's rows, and raises `Unwanted` when it
must no longer go (the contact opted out, the survey closed), so what is checked at
send time is the app's own rule. A kind sent in bulk may also give `build_many`, which
reads the rows of a whole batch at once and returns a `build` for its messages.
"""

from __future__ import annotations

import logging
import smtplib
import time
from email.utils import getaddresses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, datetime, timedelta

import psycopg
from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import make_msgid, sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db import connection as database
from django.db.models import F
from django.utils import timezone

from . import retry, smtp, unawaited
from .models import OutgoingMessage
from .queue import enqueue_on_commit

logger = logging.getLogger(__name__)

Status = OutgoingMessage.Status
SEND_TASK = "core.tasks.send_outbox"
BATCH_SIZE = 50
# A sweep starts no new message after this long (see send_due).
SEND_SECONDS = 40
ERROR_LENGTH = 2000


class TryAgain(Exception):
    """Raised by a kind's deliver: a failure that may pass (a receiver answering 500, a
    timeout); tried again after the backoff, like an SMTP 4xx."""


class Unwanted(Exception):
    """Raised by a kind's build: the message must not go, for `reason` (kept on the row)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _nothing(message: OutgoingMessage) -> None:
    pass


Build = Callable[[OutgoingMessage], EmailMessage]


@dataclass(frozen=True)
class MessageKind:
    """How the outbox sends one kind of message, and whom it tells. An email kind gives
    `build` (the email, sent over the batch's connection); any other channel gives
    `deliver`, which sends the message itself (the alert webhook), returns the
    receiver's id for it or "", and raises TryAgain for a failure that may pass."""

    build: Build | None = None
    deliver: Callable[[OutgoingMessage], str] | None = None
    # Run inside the transaction that records the outcome, so the app's rows and the
    # outbox row change together.
    sent: Callable[[OutgoingMessage], None] = _nothing
    attempt_failed: Callable[[OutgoingMessage], None] = _nothing  # and will be tried again
    given_up: Callable[[OutgoingMessage], None] = _nothing  # failed, bounced or suppressed for good
    # Optional: given the messages of a batch, reads what their emails need in a few
    # queries (instead of a few per message) and returns a build for those messages.
    build_many: Callable[[list[OutgoingMessage]], Build] | None = None
    # Optional, for a kind sent in bulk: tells the app of a batch's sent messages at once,
    # instead of `sent` for each inside the transaction that records it. Each outcome is
    # then recorded alone, one UPDATE as the message goes (the row keeps its claimed_at:
    # the app has not heard yet), and the app hears once the batch is done, or from
    # release_stuck's sweep if the worker died first. Must be safe to run twice.
    sent_many: Callable[[list[OutgoingMessage]], None] | None = None


_KINDS: dict[str, MessageKind] = {}


def register(kind: str, message_kind: MessageKind) -> None:
    _KINDS[kind] = message_kind


def queue(*, kind: str, object_id: int, key: str | None = None, at: datetime | None = None) -> OutgoingMessage:
    """Queues one message about `object_id`, to go at `at` (default now), inside the
    caller's transaction; a worker is asked to send once it commits. A message with the
    same key is queued once: asking again returns it unchanged."""
    if kind not in _KINDS:
        raise ValueError(f"No outbox kind {kind!r} is registered.")
    message, _ = OutgoingMessage.objects.get_or_create(
        key=key or f"{kind}:{object_id}",
        defaults={"kind": kind, "object_id": object_id, "next_attempt_at": at or timezone.now()},
    )
    enqueue_on_commit(SEND_TASK)
    return message


def queue_many(*, kind: str, object_ids: list[int], at: datetime | None = None) -> None:
    """Queues one message for each of `object_ids` in a few statements, inside the
    caller's transaction. The caller asks again for a message that failed or was
    suppressed (staff retrying it): that one is queued afresh."""
    if kind not in _KINDS:
        raise ValueError(f"No outbox kind {kind!r} is registered.")
    at = at or timezone.now()
    keys = {f"{kind}:{object_id}": object_id for object_id in object_ids}
    if database.vendor == "postgresql":
        _queue_in_one_statement(kind, keys, at)
        enqueue_on_commit(SEND_TASK)
        return
    OutgoingMessage.objects.bulk_create(
        [OutgoingMessage(key=key, kind=kind, object_id=object_id, next_attempt_at=at) for key, object_id in keys.items()],
        ignore_conflicts=True,
        batch_size=500,
    )
    OutgoingMessage.objects.filter(key__in=keys, status__in=[Status.FAILED, Status.SUPPRESSED]).update(
        status=Status.QUEUED, next_attempt_at=at, attempts=0, last_error=""
    )
    enqueue_on_commit(SEND_TASK)


def _queue_in_one_statement(kind: str, keys: dict[str, int], at: datetime) -> None:
    """queue_many as one INSERT … ON CONFLICT on PostgreSQL, the rows sent as two arrays
    (unnest): the survey emails are queued through here a batch at a time, where the ORM
    built a model and a dozen placeholders a row and then ran an UPDATE for the keys
    already there. The columns' defaults are OutgoingMessage's own."""
    table = database.ops.quote_name(OutgoingMessage._meta.db_table)
    now = database.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"INSERT INTO {table} AS message (key, kind, object_id, next_attempt_at, recipient, status, attempts, "  # nosec B608
        "last_error, provider_message_id, created_at, updated_at) "
        "SELECT given.key, %s, given.object_id, %s, '', %s, 0, '', '', %s, %s "
        "FROM unnest(%s::text[], %s::bigint[]) AS given(key, object_id) "
        "ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, next_attempt_at = EXCLUDED.next_attempt_at, "
        "attempts = 0, last_error = '' WHERE message.status IN (%s, %s)"
    )
    params = [kind, database.ops.adapt_datetimefield_value(at), Status.QUEUED, now, now, list(keys),
              list(keys.values()), Status.FAILED, Status.SUPPRESSED]
    with database.cursor() as cursor:
        cursor.execute(sql, params)


def send_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Sends every message due by `now`, a batch at a time. Safe in any number of
    workers at once. Returns how many were sent.

    Stops starting new messages after SEND_SECONDS, so a receiver that hangs cannot make
    sweeps (one a minute) pile up: what is left waits for the next one.

    The sweep's emails share one mail connection, opened by the first batch that has
    emails and closed once the sweep ends."""
    sent = 0
    deadline = time.monotonic() + SEND_SECONDS
    with _outcomes_not_waiting_for_disk(), _mail_connection() as connection:
        while time.monotonic() < deadline:
            batch = _claim(now or timezone.now(), batch_size)
            if not batch:
                return sent
            delivered, stopped = _send_batch(batch, deadline=deadline, connection=connection)
            sent += delivered
            if stopped:
                return sent
    return sent


@contextmanager
def _mail_connection() -> Iterator[object]:
    """A mail connection for a sweep or a send_now (Django's backend opens it when first
    asked, in _send_emails), closed when it ends."""
    connection = mail.get_connection()
    try:
        yield connection
    finally:
        try:
            connection.close()
        except Exception:
            logger.warning("Closing the mail connection failed", exc_info=True)


def send_now(keys: list[str]) -> int:
    """Sends the messages named by `keys` at once, in this process, if they are queued and
    due: the alert email from the task that raised the alert, instead of from the task
    its queueing published, which would take every due message in turn (a batch of survey
    emails first). One another worker holds, or has sent, is left to it. Returns how
    many went."""
    with _outcomes_not_waiting_for_disk(), _mail_connection() as connection:
        batch = _claim(timezone.now(), len(keys), keys=keys)
        if not batch:
            return 0
        sent, _ = _send_batch(batch, deadline=time.monotonic() + SEND_SECONDS, connection=connection)
    return sent


def sending_timeout() -> timedelta:
    """A row "sending" for longer than this belongs to a worker that died: it goes again."""
    return timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT)


def release_stuck(*, now: datetime | None = None) -> int:
    """Queues again what a dead worker left "sending". Each claim counted an attempt, so
    a message that kills the worker sending it (a poison message) fails after
    retry.MAX_ATTEMPTS, with the reason, instead of killing workers for ever. Returns how
    many it queued again."""
    now = now or timezone.now()
    stuck = OutgoingMessage.objects.filter(status=Status.SENDING, claimed_at__lt=now - sending_timeout())
    for message in stuck.filter(attempts__gte=retry.MAX_ATTEMPTS):
        error = "the worker sending it stopped before recording the outcome, every time"
        kind = _KINDS.get(message.kind)
        _finish(message, status=Status.FAILED, error=failure_note(error=error, attempt=message.attempts, at=now),
                hook=kind.given_up if kind else _nothing)
        logger.error("Outgoing message %s failed for good: %s", message.key, error)
    released = stuck.update(
        # Due at once: as due as when it was claimed.
        status=Status.QUEUED, next_attempt_at=F("claimed_at"), claimed_at=None
    )
    if released:
        logger.warning("Queued again %d outgoing messages a worker left unfinished", released)
    told = tell_untold(now=now)
    if told:
        logger.warning("Told the apps of %d sent messages a worker left untold", told)
    return released


def requeue(message: OutgoingMessage, *, now: datetime | None = None) -> bool:
    """Staff asked to try a failed (or suppressed) message again. Returns whether it was queued."""
    queued = OutgoingMessage.objects.filter(pk=message.pk, status__in=[Status.FAILED, Status.SUPPRESSED]).update(
        status=Status.QUEUED, next_attempt_at=now or timezone.now(), attempts=0, last_error=""
    )
    if queued:
        enqueue_on_commit(SEND_TASK)
    return bool(queued)


def record_bounce(message: OutgoingMessage, *, reason: str) -> bool:
    """The provider reported that a sent message bounced for good: the row becomes
    `bounced`, with the reason, and its kind hears it was given up, inside the caller's
    transaction. A row not `sent` (queued again meanwhile) is left alone. Returns
    whether it changed."""
    bounced = OutgoingMessage.objects.filter(pk=message.pk, status=Status.SENT).update(
        status=Status.BOUNCED, last_error=reason[:ERROR_LENGTH], updated_at=timezone.now()
    )
    if bounced:
        message.status, message.last_error = Status.BOUNCED, reason[:ERROR_LENGTH]
        kind = _KINDS.get(message.kind)
        if kind is not None:
            kind.given_up(message)
    return bool(bounced)


def _claim(now: datetime, batch_size: int, *, keys: list[str] | None = None) -> list[OutgoingMessage]:
    """Takes up to `batch_size` due messages (status sending, claimed now, one more
    attempt), committed, skipping the rows other workers hold; oldest due first."""
    if database.vendor == "postgresql":
        return _claim_in_one_statement(now, batch_size, keys=keys)
    due = OutgoingMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
    if keys is not None:
        due = due.filter(key__in=keys)
    with transaction.atomic():
        batch = list(due.select_for_update(skip_locked=True).order_by("next_attempt_at", "pk")[:batch_size])
        if batch:
            OutgoingMessage.objects.filter(pk__in=[message.pk for message in batch]).update(
                status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    for message in batch:
        message.status, message.claimed_at, message.attempts = Status.SENDING, now, message.attempts + 1
    return batch


def _claim_in_one_statement(now: datetime, batch_size: int, *, keys: list[str] | None) -> list[OutgoingMessage]:
    """_claim as one UPDATE … RETURNING on PostgreSQL: one round trip, where the
    transaction of a SELECT … FOR UPDATE and an UPDATE took four."""
    table = database.ops.quote_name(OutgoingMessage._meta.db_table)
    only_keys = " AND key = ANY(%s)" if keys is not None else ""
    sql = (
        f"WITH due AS MATERIALIZED (SELECT id FROM {table} WHERE status = %s AND next_attempt_at <= %s{only_keys} "  # nosec B608
        "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = {table}.attempts + 1 FROM due "
        f"WHERE {table}.id = due.id RETURNING {table}.*"
    )
    params = [Status.QUEUED, now, *([keys] if keys is not None else []), batch_size, Status.SENDING, now]
    # One statement: committed as it ends (autocommit), no transaction of its own needed.
    batch = list(OutgoingMessage.objects.raw(sql, params))
    return sorted(batch, key=lambda message: (message.next_attempt_at, message.pk))


def _send_batch(batch: list[OutgoingMessage], *, deadline: float, connection) -> tuple[int, bool]:
    """Sends `batch`: its emails over one connection, other messages each its own way.
    Returns how many went, and whether sending stopped early (the connection was lost,
    or the time ran out): the rest of the batch is queued again for the next sweep."""
    own_way = [message for message in batch if _delivers_itself(message) is not None]
    emails = [message for message in batch if _delivers_itself(message) is None]
    sent = 0
    for index, message in enumerate(own_way):
        if time.monotonic() > deadline:
            _release(own_way[index:] + emails)
            return sent, True
        sent += _deliver_one(message, _delivers_itself(message)) == "sent"
    if not emails:
        return sent, False
    delivered, stopped = _send_emails(emails, deadline=deadline, connection=connection)
    return sent + delivered, stopped


def _delivers_itself(message: OutgoingMessage) -> Callable[[OutgoingMessage], str] | None:
    kind = _KINDS.get(message.kind)
    return kind.deliver if kind is not None else None


def _deliver_one(message: OutgoingMessage, deliver: Callable[[OutgoingMessage], str]) -> str:
    try:
        receipt = deliver(message)
    except Unwanted as unwanted:
        _finish(message, status=Status.SUPPRESSED, error=unwanted.reason, hook=_KINDS[message.kind].given_up)
        return "suppressed"
    except TryAgain as exc:
        _record_failure(message, str(exc), permanent=False)
        return "failed"
    except Exception as exc:
        logger.exception("Delivering outgoing message %s failed", message.key)
        _record_failure(message, repr(exc), permanent=True)
        return "failed"
    _record_sent(message, provider_message_id=receipt)
    return "sent"


def _send_emails(batch: list[OutgoingMessage], *, deadline: float, connection) -> tuple[int, bool]:
    """Sends `batch`'s emails over one connection. Each one's outcome is recorded before
    the mail service can accept the next, so a worker that dies leaves one message at
    most sent and not recorded. Over SMTP that work hides in the server's waits
    (core.smtp): a message's outcome is recorded while the next one's MAIL FROM is on its
    way, and the next one is built while the server takes this one in. The apps of kinds
    with sent_many hear of the batch's sent messages once it is done (even when it
    stops early). `connection` is the caller's (_mail_connection), left open."""
    try:
        connection.open()  # Django's backends do nothing when it is open already
    except Exception as exc:  # an unreachable server: nobody's fault in the batch
        logger.error("Cannot reach the mail service (%r); %d messages wait for the next sweep", exc, len(batch))
        _release(batch)
        return 0, True
    sent = 0
    app_hears_later: list[OutgoingMessage] = []
    accepted: list[_Ready] = []  # taken by the mail service, the outcome not yet recorded: one at most
    recording: list[Callable[[], None]] = []  # an outcome's UPDATE sent, its answer not yet read: one at most

    def record_accepted() -> None:
        while accepted:
            ready = accepted.pop()
            recording.append(_record_sent(ready.message, provider_message_id=_provider_message_id(ready.email),
                                          app_hears_later=app_hears_later))

    def recorded() -> None:
        while recording:
            recording.pop()()

    def settle() -> None:
        record_accepted()
        recorded()

    try:
        emails = _ready_emails(batch, _builds(batch), as_bytes=isinstance(connection, SMTPBackend))
        upcoming = next(emails, None)
        while upcoming is not None:
            if time.monotonic() > deadline:
                settle()
                _release(batch[upcoming.index :])
                return sent, True
            built_ahead: list[_Ready | None] = []
            try:
                _hand_over(upcoming, connection, record_previous=_meanwhile(record_accepted),
                           recorded=_meanwhile(recorded),
                           build_next=_meanwhile(lambda: built_ahead.append(next(emails, None))))
            except _WorkMeanwhileFailed as failed:
                raise failed.__cause__ from None
            except Exception as exc:
                settle()
                permanent = is_permanent(exc)
                _record_failure(upcoming.message, repr(exc), permanent=permanent)
                # A refused recipient leaves the connection usable; anything else may not have.
                if not (permanent or _connection_survives(exc)):
                    _release(batch[upcoming.index + 1 :])
                    return sent, True
            else:
                accepted.append(upcoming)
                sent += 1
            upcoming = built_ahead[0] if built_ahead else next(emails, None)
        settle()
    finally:
        try:
            recorded()  # an UPDATE sent when an error stopped the batch: its answer frees the connection
        finally:
            if app_hears_later:
                _tell_sent(app_hears_later)
    return sent, False


@dataclass(frozen=True)
class _Ready:
    """A message built and ready to hand over: its place in the batch, its email and,
    for an SMTP connection, what Django's SMTP backend would send: the envelope's
    addresses and the message's bytes."""

    index: int
    message: OutgoingMessage
    email: EmailMessage
    sender: str = ""
    recipients: tuple[str, ...] = ()
    data: bytes | None = None


class _WorkMeanwhileFailed(Exception):
    """Raised, from the error, by work done during a message's exchange with the mail
    service (core.smtp): the worker's failure (its database gone), not the message's."""


def _meanwhile(work: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except Exception as exc:
            raise _WorkMeanwhileFailed from exc

    return run


def _builds(batch: list[OutgoingMessage]) -> dict[str, Build]:
    """The build of each kind in `batch`: its build_many's, over the batch's messages of
    that kind, where it has one (one by one if that fails, so a bad row fails alone)."""
    builds = {}
    for name in {message.kind for message in batch}:
        kind = _KINDS.get(name)
        if kind is None:
            continue
        builds[name] = kind.build
        if kind.build_many is not None:
            messages = [message for message in batch if message.kind == name]
            try:
                builds[name] = kind.build_many(messages)
            except Exception:
                logger.exception("Building %d %s messages at once failed; building them one by one", len(messages), name)
    return builds


def _ready_emails(batch: list[OutgoingMessage], builds: dict[str, Build], *, as_bytes: bool) -> Iterator[_Ready]:
    """Builds `batch`'s emails one at a time, as each is about to go (with what an SMTP
    connection sends, `as_bytes`); a message that cannot be built, or must no longer go,
    is recorded so (it fails, or is suppressed, alone) and skipped."""
    for index, message in enumerate(batch):
        kind = _KINDS.get(message.kind)
        if kind is None:
            _record_failure(message, f"no outbox kind {message.kind!r} is registered", permanent=True)
            continue
        try:
            yield _ready(index, message, builds[message.kind](message), as_bytes=as_bytes)
        except Unwanted as unwanted:
            _finish(message, status=Status.SUPPRESSED, error=unwanted.reason, hook=kind.given_up)
        except Exception as exc:  # a bug or bad data in this one message (a header with a line break)
            logger.exception("Building outgoing message %s failed", message.key)
            _record_failure(message, repr(exc), permanent=True)


def _ready(index: int, message: OutgoingMessage, email: EmailMessage, *, as_bytes: bool) -> _Ready:
    to = _addresses(email.to)
    # Bare addresses, lower-cased: delivery events find their message by address.
    message.recipient = ", ".join(address.lower() for _, address in to)[:1000]
    # Our own Message-ID, kept as the message's id when the provider gives none (SMTP).
    email.extra_headers.setdefault("Message-ID", make_msgid(domain=DNS_NAME))
    if not as_bytes:
        return _Ready(index, message, email)
    encoding = email.encoding or settings.DEFAULT_CHARSET
    wire = email.wire_bytes() if hasattr(email, "wire_bytes") else None
    # The envelope's addresses as Django's backend writes them, from the addresses parsed
    # once above: sanitize_address would parse each again, at several times the cost.
    recipients = to + _addresses([*email.cc, *email.bcc])
    return _Ready(
        index, message, email,
        sender=_sender_address(email.from_email, encoding),
        recipients=tuple(_envelope_address(address, encoding) for _, address in recipients if address),
        data=wire or email.message().as_bytes(linesep="\r\n"),
    )


def _hand_over(
    ready: _Ready, connection, *, record_previous: Callable[[], None], recorded: Callable[[], None],
    build_next: Callable[[], None],
) -> None:
    """Gives `ready`'s email to the mail service over the batch's connection, after
    `record_previous` (the outcome of the message before: its UPDATE sent) and `recorded`
    (its answer read), before it can be accepted. An SMTP connection gets what Django's
    backend would send (an email that writes its own bytes, core.emails.FilledEmail, as
    those bytes), with that work done while the server reads the commands before the
    data, and `build_next` while it takes the message in (core.smtp.sendmail); any other
    backend its send_messages."""
    if ready.data is None or not ready.recipients:  # Django's SMTP backend sends no email to nobody
        record_previous()
        recorded()
        if ready.data is None:
            connection.send_messages([ready.email])
        return
    smtp.sendmail(connection.connection, ready.sender, ready.recipients, ready.data,
                  after_mail_from=record_previous, before_data=recorded, after_data=build_next)


def _addresses(fields: list[str]) -> list[tuple[str, str]]:
    """getaddresses(fields), read directly where every field is a plain address or a plain
    name and address (core.smtp.PLAIN_ADDRESS), as a survey email's To is."""
    parsed = []
    for field in fields:
        if smtp.PLAIN_ADDRESS.fullmatch(field):
            parsed.append(("", field))
        elif named := smtp.PLAIN_NAMED_ADDRESS.fullmatch(field):
            parsed.append((named[1], named[2]))
        else:
            return getaddresses(fields)
    return parsed


def _envelope_address(address: str, encoding: str) -> str:
    """sanitize_address(("", address), encoding), which leaves a plain address as it is."""
    return address if smtp.PLAIN_ADDRESS.fullmatch(address) else sanitize_address(("", address), encoding)


@lru_cache(maxsize=64)
def _sender_address(address: str, encoding: str) -> str:
    """The envelope's sender, as Django's backend writes it: the same for a whole batch."""
    return sanitize_address(address, encoding)


def is_permanent(exc: Exception) -> bool:
    """SMTP 5xx answers, recipients a provider refuses, a provider's 4xx answer (other
    than too many requests) and any error of our own are permanent: trying again would
    fail the same way. 4xx SMTP answers, network trouble and a provider's 5xx are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    if isinstance(exc, AnymailRecipientsRefused):
        return True
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        return status is not None and 400 <= status < 500 and status != 429
    if isinstance(exc, (smtplib.SMTPException, OSError, AnymailError)):
        return False
    return True


def _connection_survives(exc: Exception) -> bool:
    return isinstance(exc, (smtplib.SMTPRecipientsRefused, AnymailError))


def _provider_message_id(email: EmailMessage) -> str:
    """The id the provider gave the message (anymail), else the Message-ID we sent."""
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id:
        return str(status.message_id)
    return str(email.extra_headers.get("Message-ID", ""))


def _record_sent(
    message: OutgoingMessage, *, provider_message_id: str, app_hears_later: list[OutgoingMessage] | None = None
) -> Callable[[], None]:
    """Records that `message` went. With `app_hears_later`, a kind that tells its app of a
    batch at once (sent_many) has its outcome recorded by one UPDATE, in autocommit, sent
    now (_start_recording_sent); the function returned reads its answer and appends the
    message, and must be called before anything else uses the database connection.
    Otherwise the outcome is recorded before this returns (the function returned does
    nothing)."""
    message.sent_at = timezone.now()
    message.provider_message_id = provider_message_id[:255]
    kind = _KINDS[message.kind]
    if kind.sent_many is None or app_hears_later is None:
        _finish(message, status=Status.SENT, error="", hook=kind.sent)
        return _nothing_more
    answer = _start_recording_sent(message)

    def recorded() -> None:
        if answer():
            message.status, message.last_error, message.next_attempt_at = Status.SENT, "", None
            app_hears_later.append(message)

    return recorded


def _nothing_more() -> None:
    pass


def _start_recording_sent(message: OutgoingMessage) -> Callable[[], bool]:
    """Sends the UPDATE recording that `message` went (if the row is still ours:
    _update_if_ours's statement), and returns what reads its answer: whether it was
    recorded. On PostgreSQL, in autocommit, the statement is sent without waiting for its
    answer (core.unawaited), so that it runs while the mail server answers the next
    message's first commands; elsewhere (inside a test's transaction, say) it has run
    when this returns."""
    connection = connections[DEFAULT_DB_ALIAS]
    values = dict(
        status=Status.SENT, last_error="", recipient=message.recipient, sent_at=message.sent_at,
        provider_message_id=message.provider_message_id, next_attempt_at=None, updated_at=message.sent_at,
    )
    if not unawaited.possible(connection):
        recorded = _update_if_ours(message, **values)
        return lambda: recorded
    sql, params = _if_ours_statement(message, values, connection=connection)
    result = unawaited.send(connection, "valuepulse_outbox_sent", _numbered(sql), [unawaited.text(p) for p in params])
    return lambda: result() == 1


@lru_cache(maxsize=4)
def _numbered(sql: str) -> str:
    """`sql` with PostgreSQL's numbered placeholders ($1, $2, …) for its %s, as
    core.unawaited sends it (the outbox's statements hold no other percent sign)."""
    parts = sql.split("%s")
    return "".join(part + (f"${number}" if number < len(parts) else "") for number, part in enumerate(parts, 1))


def _tell_sent(messages: list[OutgoingMessage]) -> None:
    """Tells each kind's app of its sent `messages` (sent_many), and marks them told
    (claimed_at cleared), in one transaction."""
    with transaction.atomic():
        for name in {message.kind for message in messages}:
            _KINDS[name].sent_many([message for message in messages if message.kind == name])
        OutgoingMessage.objects.filter(pk__in=[message.pk for message in messages], status=Status.SENT).update(
            claimed_at=None
        )


def tell_untold(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Tells the apps of sent messages a dead worker recorded but did not tell them of
    (MessageKind.sent_many). Returns how many."""
    now = now or timezone.now()
    told = 0
    while True:
        untold = list(
            OutgoingMessage.objects.filter(status=Status.SENT, claimed_at__lt=now - sending_timeout())
            .filter(kind__in=[name for name, kind in _KINDS.items() if kind.sent_many is not None])
            .order_by("claimed_at")[:batch_size]
        )
        if not untold:
            return told
        _tell_sent(untold)
        told += len(untold)


def failure_note(*, error: str, attempt: int, at: datetime) -> str:
    """What staff read of a failed attempt."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, attempt {attempt} of {retry.MAX_ATTEMPTS}: {error}"[
        :ERROR_LENGTH
    ]


def _record_failure(message: OutgoingMessage, error: str, *, permanent: bool) -> None:
    # Counted from when the worker took it (the sweep's clock), which tests can set.
    failed_at = message.claimed_at or timezone.now()
    note = failure_note(error=error, attempt=message.attempts, at=failed_at)
    if permanent or message.attempts >= retry.MAX_ATTEMPTS:
        logger.error("Outgoing message %s failed for good: %s", message.key, error)
        kind = _KINDS.get(message.kind)
        _finish(message, status=Status.FAILED, error=note, hook=kind.given_up if kind else _nothing)
        return
    message.next_attempt_at = failed_at + retry.retry_delay(message.attempts)
    logger.warning("Outgoing message %s failed (attempt %d), next try at %s: %s", message.key, message.attempts,
                   message.next_attempt_at, error)
    kind = _KINDS.get(message.kind)
    _finish(message, status=Status.QUEUED, error=note, hook=kind.attempt_failed if kind else _nothing)


def _finish(
    message: OutgoingMessage, *, status: str, error: str, hook: Callable[[OutgoingMessage], None]
) -> None:
    """Records the outcome, only if the row is still ours (a row released as stuck and
    claimed by another worker belongs to that worker now): one UPDATE, and the kind's
    hook, in one transaction."""
    next_attempt_at = message.next_attempt_at if status == Status.QUEUED else None
    with transaction.atomic():
        updated = _update_if_ours(
            message,
            status=status,
            last_error=error,
            recipient=message.recipient,
            sent_at=message.sent_at,
            provider_message_id=message.provider_message_id,
            next_attempt_at=next_attempt_at,
            claimed_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            message.status, message.last_error, message.next_attempt_at = status, error, next_attempt_at
            hook(message)


def _update_if_ours(message: OutgoingMessage, **values) -> bool:
    """UPDATE … WHERE id = … AND status = 'sending' AND claimed_at = …, in SQL: it runs
    once a message, and the ORM's building of it cost more than the statement. Its SQL
    is written once per set of columns, and the connection looked up once (each
    attribute read through django.db.connection looks the connection up again)."""
    connection = connections[DEFAULT_DB_ALIAS]
    sql, params = _if_ours_statement(message, values, connection=connection)
    return _execute_prepared(sql, params, connection=connection) == 1


def _if_ours_statement(message: OutgoingMessage, values: dict, *, connection) -> tuple[str, list]:
    """_update_if_ours's SQL and its parameters."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(value) if name in _DATETIME_COLUMNS else value for name, value in values.items()]
    return _update_sql(tuple(values), connection.vendor), [*params, message.pk, Status.SENDING, adapt(message.claimed_at)]


_DATETIME_COLUMNS = frozenset({"sent_at", "next_attempt_at", "claimed_at", "updated_at"})


@lru_cache(maxsize=16)
def _update_sql(columns: tuple[str, ...], vendor: str) -> str:
    """_update_if_ours's statement for `columns` (`vendor` keys the cache: the quoting is
    the database's)."""
    ops = connections[DEFAULT_DB_ALIAS].ops
    assignments = ", ".join(f"{ops.quote_name(name)} = %s" for name in columns)
    return (
        f"UPDATE {ops.quote_name(OutgoingMessage._meta.db_table)} SET {assignments} "  # nosec B608
        "WHERE id = %s AND status = %s AND claimed_at = %s"
    )


def _execute_prepared(sql: str, params: list, *, connection=None) -> int:
    """Runs one statement the outbox runs once a message; returns its row count. On
    PostgreSQL as a prepared statement of the connection's (psycopg prepares it the first
    time): the server parses and plans it once, and psycopg sends the values apart from
    it instead of writing them into the SQL each time (as Django's cursor does)."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.rowcount


@contextmanager
def _outcomes_not_waiting_for_disk() -> Iterator[None]:
    """On PostgreSQL, this session's commits (claims, outcomes) return before their WAL
    reaches the disk (synchronous_commit off; settings.OUTBOX_SYNCHRONOUS_COMMIT keeps
    them waiting). A worker killed, or its connection cut, loses none of them: the server
    has them. Only a crash of the database server itself may lose its last moments of
    them (at most 3 × wal_writer_delay, 0.6 s by default): those messages are sent
    again, never lost, since every email's links were stored (queued) before, with
    commits that waited."""
    if database.vendor != "postgresql" or settings.OUTBOX_SYNCHRONOUS_COMMIT:
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        try:
            with database.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO DEFAULT")
        except DatabaseError:  # the connection is gone, and the setting with it
            logger.warning("Could not restore synchronous_commit", exc_info=True)


def _release(batch: list[OutgoingMessage]) -> None:
    """Claimed but not tried: back to the queue, the attempt not counted."""
    OutgoingMessage.objects.filter(pk__in=[message.pk for message in batch], status=Status.SENDING).update(
        status=Status.QUEUED, claimed_at=None, attempts=F("attempts") - 1
    )

"""`make bench`, row P2: how fast one worker hands survey emails to an SMTP server,
against the fastest Python can: raw smtplib sending ready-made bytes over one connection.

Both send to the same aiosmtpd sink, which runs in a process of its own
(tests/support/smtp_sink_process.py) so that it never shares the GIL with the sender.
Rounds take turns (raw, ours, then ours, raw, ...) so that a noisy neighbour on the
machine falls on both alike; each figure is the median of the rounds with its min–max,
and the ratio judged is ours / raw of the medians:

- raw: `smtplib.SMTP.sendmail` of one real survey email's bytes, rendered once, to
  MESSAGES distinct recipients over one connection;
- ValuePulse: `surveys.services.send_due_invitations()` for MESSAGES due invitations,
  in this process, as a worker runs it: handed to the outbox (links stored), claimed,
  each email built, sent and its outcome recorded, every transaction committed
  (PostgreSQL when DATABASE_URL is set).

The two-worker run of the same path is test_two_workers_bench.py (row P2b).
"""

from __future__ import annotations

import smtplib
import statistics
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from surveys import emails, services
from surveys.models import Invitation, InvitationStatus, LinkPurpose, link_token
from tests.benchmarks import report
from tests.factories import CustomerFactory, due_invitations
from tests.support.smtp_sink_process import running_sink

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

MESSAGES = report.size(1000, 40)
ROUNDS = report.size(6, 4)
TARGET = 0.75  # of raw smtplib's rate, per worker


def schedule_due_invitations(customer, *, prefix: str, count: int) -> None:
    due_invitations(count, customers=[customer], address=f"{prefix}-{{}}@example.com", reference=f"{prefix}-{{}}")


def one_survey_email_bytes() -> bytes:
    invitation = (
        Invitation.objects.select_related("delivery__survey", "delivery__customer", "contact")
        .filter(status=InvitationStatus.SENT).first()
    )
    email = emails.survey_invitation(
        invitation,
        token=link_token(invitation_id=invitation.pk, purpose=LinkPurpose.SURVEY),
        unsubscribe_token=link_token(invitation_id=invitation.pk, purpose=LinkPurpose.UNSUBSCRIBE),
    )
    return email.message().as_bytes(linesep="\r\n")


def send_raw(sink, payload: bytes, *, prefix: str, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        for number in range(count):
            smtp.sendmail(django_settings.DEFAULT_FROM_EMAIL, [f"{prefix}-{number}@example.com"], payload)
    return time.perf_counter() - started


def send_with_valuepulse(*, count: int) -> float:
    started = time.perf_counter()
    sent = services.send_due_invitations()
    elapsed = time.perf_counter() - started
    assert sent == count
    return elapsed


def test_dispatch_rate_of_one_worker_against_raw_smtplib(tmp_path, settings, monkeypatch):
    # The one process sends everything itself; the "send now" message a queued batch
    # publishes for other workers is not what is measured here.
    monkeypatch.setattr("core.outbox.enqueue_on_commit", lambda *args, **kwargs: None)
    customer = CustomerFactory()
    with running_sink(tmp_path / "received.txt") as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = sink.host, sink.port, False

        # Warm every path (templates, the machine's DNS name in Message-ID) and take one
        # real survey email as raw smtplib's message.
        schedule_due_invitations(customer, prefix="warm", count=20)
        send_with_valuepulse(count=20)
        payload = one_survey_email_bytes()
        send_raw(sink, payload, prefix="warm-raw", count=20)

        rates: dict[str, list[float]] = {"raw": [], "valuepulse": []}
        for round_number in range(ROUNDS):
            schedule_due_invitations(customer, prefix=f"vp{round_number}", count=MESSAGES)
            if connection.vendor == "postgresql" and round_number == 0:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")  # what autovacuum does as the tables grow
            runs = {
                "raw": lambda: send_raw(sink, payload, prefix=f"raw{round_number}", count=MESSAGES),
                "valuepulse": lambda: send_with_valuepulse(count=MESSAGES),
            }
            order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
            for name in order:
                rates[name].append(MESSAGES / runs[name]())

        received = sink.count()

    assert received == 2 * 20 + 2 * ROUNDS * MESSAGES
    raw, ours = report.Spread.of(rates["raw"]), report.Spread.of(rates["valuepulse"])
    ratio = ours.median / raw.median
    paired = [mine / theirs for mine, theirs in zip(rates["valuepulse"], rates["raw"], strict=True)]
    report.record(report.Figure(
        id="P2",
        path="dispatch: survey emails sent by one worker (send_due_invitations)",
        ours=f"{ours.text('/s')}",
        baseline=f"raw smtplib, one connection: {raw.text('/s')}",
        ratio=f"{ratio:.2f} per worker",
        target=f"≥ {TARGET} of raw smtplib per worker",
        met=ratio >= TARGET,
        changed=(
            "emails filled in from one draft per survey, language and sender (templates render once a batch) "
            "and written as bytes without Python's MIME generator; sent as those bytes on Django's SMTP "
            "connection by the outbox itself (core/smtp.py, smtplib's sendmail split at the server's waits): "
            "each outcome one UPDATE (no ORM, no SELECT), a statement prepared once a connection (PostgreSQL "
            "plans it once), sent to PostgreSQL as the next email's MAIL FROM goes and its answer read just "
            "before that email's data is written (libpq directly, through psycopg's public pq interface: "
            "core/unawaited.py), so that it runs while the server answers MAIL FROM, RCPT TO and DATA, where the "
            "worker waited for it before reading MAIL FROM's answer, and still committed before the next data, "
            "so a killed worker still leaves one message at most unrecorded; the batch's invitations told by one "
            "UPDATE computing each reminder in SQL, not a SELECT and an UPDATE (the worker's CPU for it 0.068 → "
            "0.013 ms a message); a message's data searched for a line starting with a period before the "
            "substitution that doubles one (these three, one round's changes: same-run ratio 0.65–0.73 in 4 "
            "runs of this file alone, where the code before them measured 0.54–0.65, median 0.62 of 13 runs "
            "interleaved with them); the next email built (bytes and envelope) while the server takes this one "
            "in; a batch claimed by one UPDATE … RETURNING (SKIP LOCKED) instead of a transaction of four "
            "statements; a batch's invitations read in one query and its surveys once, shared by their "
            "invitations; the envelope's addresses parsed once; the invitations told once a batch and their "
            "batch updates one UPDATE … FROM unnest(…); the outbox's commits do not wait for PostgreSQL's "
            "disk flush; links stored a batch at a time; the outbox's rows queued by one INSERT … ON CONFLICT "
            "from two arrays (a failed message queued afresh in the same statement) instead of bulk_create and "
            "an UPDATE (0.126 → 0.076 ms of the worker's CPU a message); a draft cut at its blanks once, so "
            "that filling it in is a join, not a regex search through the whole HTML, its header lines "
            "encoded once a batch and the closing day formatted once a day and language (0.40 → 0.37 ms a "
            "message to build); a batch's invitations read by one statement written once from the models' "
            "metadata (surveys/outbox.py, the pattern of surveys/link_lookup.py: only the columns an email needs, "
            "the delivery, customer and contact made as the ORM makes them, without from_db's walk through every "
            "field), where select_related compiled its query and filled in four whole tables each batch (0.20 → "
            "0.10 ms of the worker's CPU a message); the outcome's UPDATE written once per set of columns and its "
            "database connection looked up once, not a dozen times through django.db.connection (half its "
            "Python); a link's HMAC key derived once per SECRET_KEY; one SMTP connection a sweep instead of one a "
            "batch; plain addresses (ASCII, with or without a plain name) read for the envelope and RCPT TO "
            "without the email module's parser, sanitize_address and quoteaddr, which give them back unchanged; "
            "a draft's values escaped by html.escape without Django's lazy wrapper; queueing's claim of due "
            "invitations one statement written once (FOR UPDATE OF the invitation SKIP LOCKED, as before) "
            "instead of the ORM's four whole instances a row (together: the worker's CPU 1.08 → 0.85 ms a "
            "message, median of 8 interleaved rounds of 1,000; the same bytes, the same outcomes). Measured and "
            "not kept: the outcome's UPDATE in psycopg's pipeline mode, "
            "answered just before the next data (more CPU for the worker and PostgreSQL, no faster: libpq "
            "directly costs the worker a third of psycopg's cursor, 0.03 against 0.09 ms a statement); a draft "
            "kept from sweep to sweep, the invitation told in the outcome's own statement, and a draft's values "
            "worked out without a translation.override an email (together no gain the same-run ratio could "
            "tell from the noise, 0.67–0.76 in 6 runs); a part's too-long line found by one regex search "
            "instead of splitting it into lines (1.8 ms a 9 kB part against 16 µs: P2 fell to 0.22); dropping "
            "six of the outbox's eleven indexes (PostgreSQL's CPU 0.42 → 0.39 ms a message, each index has a "
            "query that needs it); batches of 100 or 200 instead of 50 (within the noise, twice: what is left "
            "of a batch's work is a row's, not a statement's). Still in the way: the sink is the slowest of the "
            "three processes on two cores (about 0.9 ms of CPU a message), and whatever the worker does outside "
            "the SMTP exchange leaves it idle: queueing the invitations (about 0.1 ms a message, mostly "
            "PostgreSQL updating each invitation and inserting its outbox row), reading a batch (0.05 ms of the "
            "worker's CPU a message) and claiming it (0.05–0.09 ms, mostly PostgreSQL); overlapping those with "
            "the sink's work would mean spreading the next batch's claim and reads over the current batch's "
            "SMTP waits"
        ),
        details=[
            f"{ROUNDS} rounds of {MESSAGES:,} emails of {len(payload):,} bytes, {connection.vendor}, "
            "an aiosmtpd sink in its own process; raw and ValuePulse take turns, each going first in turn",
            "raw rounds: " + ", ".join(f"{rate:,.0f}/s" for rate in rates["raw"]),
            "ValuePulse rounds: " + ", ".join(f"{rate:,.0f}/s" for rate in rates["valuepulse"]),
            "ratio round by round: " + ", ".join(f"{share:.2f}" for share in paired)
            + f" (median {statistics.median(paired):.2f})",
        ],
    ))

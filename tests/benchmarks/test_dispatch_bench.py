"""`make bench`: how fast one worker hands survey emails to an SMTP server, against the
fastest Python can: raw smtplib sending ready-made bytes over one connection.

Both send to the same aiosmtpd sink, which runs in a process of its own
(tests/support/smtp_sink_process.py) so that it never shares the GIL with the sender.
Each round times, one after the other (their order swapped every round, so a noisy
neighbour on the machine falls on both alike):

- raw: `smtplib.SMTP.sendmail` of one real survey email's bytes, rendered once, to
  MESSAGES distinct recipients over one connection;
- ValuePulse: `surveys.services.send_due_invitations()` for MESSAGES due invitations,
  in this process, as a worker runs it: queued in the outbox, claimed, built, sent,
  recorded, every transaction committed (PostgreSQL when DATABASE_URL is set);
- for reference, what any Django sender pays before touching a database: the survey
  email rendered afresh for each recipient and sent by Django's SMTP backend over one
  connection.

Prints each one's rate (best and median of the rounds) and its share of raw smtplib's.
"""

from __future__ import annotations

import smtplib
import statistics
import time

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from surveys import emails, services
from surveys.models import Invitation, InvitationStatus, LinkPurpose, link_token
from tests.factories import CustomerFactory, due_invitations
from tests.support.smtp_sink_process import running_sink

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

MESSAGES = 1000
ROUNDS = 6  # each of the three goes first twice
TARGET_SHARE = 0.75  # of raw smtplib's rate, the aim of issue "Delivery you can trust"


def schedule_due_invitations(customer, *, prefix: str, count: int) -> None:
    due_invitations(count, customers=[customer], address=f"{prefix}-{{}}@example.com", reference=f"{prefix}-{{}}")


def survey_email(invitation: Invitation):
    return emails.survey_invitation(
        invitation,
        token=link_token(invitation_id=invitation.pk, purpose=LinkPurpose.SURVEY),
        unsubscribe_token=link_token(invitation_id=invitation.pk, purpose=LinkPurpose.UNSUBSCRIBE),
    )


def loaded(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_related("delivery__survey", "delivery__customer", "contact")
        .prefetch_related("delivery__survey__translations")
        .get(pk=invitation.pk)
    )


def send_raw(sink, payload: bytes, *, prefix: str, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        for number in range(count):
            smtp.sendmail(django_settings.DEFAULT_FROM_EMAIL, [f"{prefix}-{number}@example.com"], payload)
    return time.perf_counter() - started


def send_rendered_by_django(invitation: Invitation, *, prefix: str, count: int) -> float:
    started = time.perf_counter()
    with mail.get_connection() as smtp:
        for number in range(count):
            email = survey_email(invitation)
            email.to = [f"{prefix}-{number}@example.com"]
            smtp.send_messages([email])
    return time.perf_counter() - started


def send_with_valuepulse(*, count: int) -> float:
    started = time.perf_counter()
    sent = services.send_due_invitations()
    elapsed = time.perf_counter() - started
    assert sent == count
    return elapsed


def rates_line(label: str, rates: list[float], raw: list[float]) -> str:
    share = statistics.median(rates) / statistics.median(raw)
    return (f"[bench] {label}: best {max(rates):,.0f}/s, median {statistics.median(rates):,.0f}/s "
            f"(rounds {', '.join(f'{rate:,.0f}' for rate in rates)}); {share:.0%} of raw smtplib's median")


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
        invitation = loaded(Invitation.objects.filter(status=InvitationStatus.SENT).first())
        payload = survey_email(invitation).message().as_bytes(linesep="\r\n")
        send_raw(sink, payload, prefix="warm-raw", count=20)
        send_rendered_by_django(invitation, prefix="warm-django", count=20)

        rates: dict[str, list[float]] = {"raw": [], "django": [], "valuepulse": []}
        for round_number in range(ROUNDS):
            schedule_due_invitations(customer, prefix=f"vp{round_number}", count=MESSAGES)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")  # what autovacuum does as the tables grow
            runs = {
                "raw": lambda: send_raw(sink, payload, prefix=f"raw{round_number}", count=MESSAGES),
                "django": lambda: send_rendered_by_django(invitation, prefix=f"django{round_number}", count=MESSAGES),
                "valuepulse": lambda: send_with_valuepulse(count=MESSAGES),
            }
            order = list(runs)[round_number % 3 :] + list(runs)[: round_number % 3]  # each goes first in turn
            for name in order:
                rates[name].append(MESSAGES / runs[name]())

        received = sink.count()

    assert received == 3 * 20 + 3 * ROUNDS * MESSAGES
    share = statistics.median(rates["valuepulse"]) / statistics.median(rates["raw"])
    print(f"\n[bench] dispatch over SMTP to an aiosmtpd sink in its own process, {connection.vendor}, "
          f"{ROUNDS} rounds of {MESSAGES:,} messages of {len(payload):,} bytes")
    print(rates_line("raw smtplib, one connection, the same bytes each time", rates["raw"], rates["raw"]))
    print(rates_line("Django alone: rendered each time, its SMTP backend, no database", rates["django"], rates["raw"]))
    print(rates_line("ValuePulse send_due_invitations, one process", rates["valuepulse"], rates["raw"]))
    print(f"[bench] ValuePulse / raw smtplib: {share:.0%} (aim: {TARGET_SHARE:.0%}, "
          f"{'met' if share >= TARGET_SHARE else 'not met'})")

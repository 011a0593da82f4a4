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
  recorded, every transaction committed (PostgreSQL when DATABASE_URL is set).

Prints each side's rate (best and median of the rounds) and ValuePulse's share of raw.
"""

from __future__ import annotations

import smtplib
import statistics
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from surveys import emails, services
from surveys.models import Invitation, InvitationStatus, LinkPurpose, link_token
from tests.factories import CustomerFactory
from tests.support.smtp_sink_process import running_sink

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

MESSAGES = 1000
ROUNDS = 5
TARGET_SHARE = 0.75  # of raw smtplib's rate, the aim of issue "Delivery you can trust"


def schedule_due_invitations(customer, *, prefix: str, count: int) -> None:
    delivered_at = timezone.now() - timedelta(hours=2)
    services.record_deliveries(
        deliveries=[
            services.DeliveryData(
                customer=customer,
                reference=f"{prefix}-{number}",
                delivered_at=delivered_at,
                contact_email=f"{prefix}-{number}@example.com",
                contact_name=f"Contact {number} of {prefix}",
                description="the warehouse move",
            )
            for number in range(count)
        ]
    )


def rendered_survey_email(invitation: Invitation) -> bytes:
    """The bytes Django's SMTP backend would hand to the server for this invitation."""
    invitation = Invitation.objects.select_related("delivery__survey", "delivery__customer", "contact").get(
        pk=invitation.pk
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


def rates_line(label: str, rates: list[float]) -> str:
    return (f"[bench] {label}: best {max(rates):,.0f}/s, median {statistics.median(rates):,.0f}/s "
            f"(rounds {', '.join(f'{rate:,.0f}' for rate in rates)})")


def test_dispatch_rate_of_one_worker_against_raw_smtplib(tmp_path, settings, monkeypatch):
    # The one process sends everything itself; the "send now" message a queued batch
    # publishes for other workers is not what is measured here.
    monkeypatch.setattr("core.outbox.enqueue_on_commit", lambda *args, **kwargs: None)
    customer = CustomerFactory()
    with running_sink(tmp_path / "received.txt") as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = sink.host, sink.port, False

        # Warm both paths (templates, the machine's DNS name in Message-ID) and take one
        # real survey email as raw smtplib's message.
        schedule_due_invitations(customer, prefix="warm", count=20)
        send_with_valuepulse(count=20)
        payload = rendered_survey_email(Invitation.objects.filter(status=InvitationStatus.SENT).first())
        send_raw(sink, payload, prefix="warm-raw", count=20)

        raw_rates, valuepulse_rates = [], []
        for round_number in range(ROUNDS):
            schedule_due_invitations(customer, prefix=f"vp{round_number}", count=MESSAGES)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")  # what autovacuum does as the tables grow
            runs = [
                lambda: raw_rates.append(MESSAGES / send_raw(sink, payload, prefix=f"raw{round_number}", count=MESSAGES)),
                lambda: valuepulse_rates.append(MESSAGES / send_with_valuepulse(count=MESSAGES)),
            ]
            for run in runs if round_number % 2 == 0 else reversed(runs):
                run()

        received = sink.count()

    assert received == 40 + 2 * ROUNDS * MESSAGES
    share_of_median = statistics.median(valuepulse_rates) / statistics.median(raw_rates)
    share_of_best = max(valuepulse_rates) / max(raw_rates)
    print(f"\n[bench] dispatch over SMTP to an aiosmtpd sink in its own process, {connection.vendor}, "
          f"{ROUNDS} rounds of {MESSAGES:,} messages of {len(payload):,} bytes")
    print(rates_line("raw smtplib, one connection", raw_rates))
    print(rates_line("ValuePulse send_due_invitations, one process", valuepulse_rates))
    print(f"[bench] ValuePulse / raw: {share_of_median:.0%} of the median, {share_of_best:.0%} of the best "
          f"(aim: {TARGET_SHARE:.0%})")

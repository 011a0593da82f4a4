"""`make bench`: sending 2,000 due survey invitations in one process, rendering only
(Django's in-memory backend) and over SMTP to a local aiosmtpd server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from surveys import services
from surveys.models import Invitation
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

INVITATIONS = 2000


def due_invitations() -> None:
    customer = CustomerFactory()
    services.record_deliveries(
        deliveries=[
            services.DeliveryData(
                customer=customer,
                reference=f"B-{number}",
                delivered_at=timezone.now() - timedelta(hours=2),
                contact_email=f"bench{number}@example.com",
                description="the bench delivery",
            )
            for number in range(INVITATIONS)
        ]
    )


def time_sending(label: str) -> None:
    due_invitations()
    started = time.perf_counter()
    sent = services.send_due_invitations()
    elapsed = time.perf_counter() - started
    assert sent == INVITATIONS == Invitation.objects.filter(status="sent").count()
    print(f"\n{label}: {sent} invitations in {elapsed:.2f} s, {sent / elapsed:.0f}/s")


def test_render_and_record_2000_invitations():
    time_sending("in-memory backend")


def test_send_2000_invitations_over_smtp(smtp_server):
    time_sending("SMTP to aiosmtpd on 127.0.0.1")
    assert len(smtp_server.received()) == INVITATIONS

"""`make bench`, row P2b: 100,000 due invitations sent by two real Celery workers on
Redis, each recipient exactly once (PostgreSQL and Redis required).

Each customer's first invitation is scheduled as the API schedules it (record_deliveries),
the others are copied from it in SQL (tests.factories.many_due_invitations: seconds, where
recording all of them took a minute; neither is measured). Two workers (`--pool solo`, one
process each) then get several `surveys.tasks.send_due_invitations` messages, as beat and
a slow worker would give them (each worker also takes the default queue, where the
outbox's own "send now" tasks go), and send over SMTP to an aiosmtpd sink in a process of
its own (tests/support/smtp_sink_process.py, reading each message's data in large
pieces), which writes down the recipient of every message it accepts. The test waits
until nothing is left to hand over or to send, then counts: no recipient twice, none
missing, and records the wall time and the rate.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter

import pytest
from django.db import connection

from surveys.models import Invitation, InvitationStatus
from tests.benchmarks import report
from tests.factories import CustomerFactory, many_due_invitations, nothing_left_to_send
from tests.support.processes import celery_worker, child_environment, publish_to_worker, together, wait_until
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp_sink_process import running_sink

INVITATIONS = report.size(100_000, 300)
CUSTOMERS = report.size(100, 3)
CHUNK = 5_000
SEND_TASKS = 4  # sweeps published at once, as beat and a slow worker could produce
SENDING_TIMEOUT = 30 * 60  # seconds the two workers get to send everything

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(40 * 60)]


def recipient(number: int | str) -> str:
    return f"contact{number}@bench.example.com"


def test_two_workers_send_a_hundred_thousand_invitations_each_exactly_once(tmp_path):
    require_postgresql()
    redis_url = require_redis()
    started = time.perf_counter()
    many_due_invitations(
        INVITATIONS, customers=CustomerFactory.create_batch(CUSTOMERS), address=recipient("{}"),
        reference="BENCH-{}",
    )
    assert Invitation.objects.filter(status=InvitationStatus.SCHEDULED).count() == INVITATIONS
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    print(f"\n[bench] {INVITATIONS:,} due invitations scheduled in {time.perf_counter() - started:.0f} s")
    queue = f"bench-{uuid.uuid4().hex}"
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]

    with running_sink(tmp_path / "received.txt", lean=True) as sink:
        env = child_environment(var_dir=tmp_path, redis_url=redis_url, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port))
        # Started side by side rather than one after the other. Each also takes the default
        # queue, as a deployed worker does: the outbox's "send now" tasks, published as
        # batches are queued, go there.
        with together(
            celery_worker(env, queue=f"{queue},celery", log=logs[0], name="bench-one"),
            celery_worker(env, queue=f"{queue},celery", log=logs[1], name="bench-two"),
        ):
            started = time.perf_counter()
            publish_to_worker(env, task=["surveys.tasks.send_due_invitations"] * SEND_TASKS, queue=queue)
            handed_over = wait_until(
                lambda: not Invitation.objects.filter(status=InvitationStatus.SCHEDULED).exists(),
                timeout=SENDING_TIMEOUT, interval=1,
            )
            handed_over_in = time.perf_counter() - started
            finished = handed_over and wait_until(nothing_left_to_send, timeout=SENDING_TIMEOUT - handed_over_in, interval=1)
            elapsed = time.perf_counter() - started
            # Every message the database calls sent was accepted by the sink before that.
            wait_until(lambda: sink.count() >= INVITATIONS, timeout=30)
        received = sink.recipients()

    assert finished, "\n".join(log.read_text()[-3000:] for log in logs)
    counts = Counter(received)
    duplicates = sum(count - 1 for count in counts.values())
    missed = len({recipient(number) for number in range(INVITATIONS)} - counts.keys())
    sent_by_worker = [
        sum(int(sent) for sent in re.findall(r"(?:send_due_invitations|send_outbox)\[[^\]]+\] succeeded in [\d.]+s: (\d+)",
                                        log.read_text()))
        for log in logs
    ]
    report.record(report.Figure(
        id="P2b",
        path=f"dispatch: {INVITATIONS:,} due invitations, two Celery workers on Redis",
        ours=f"{len(received):,} emails in {elapsed:,.0f} s, {len(received) / elapsed:,.0f}/s",
        baseline="every recipient exactly once",
        ratio=f"duplicates {duplicates}, missed {missed}",
        target="0 duplicates, 0 missed",
        met=duplicates == 0 and missed == 0,
        details=[
            f"two workers (solo pool, one process each), PostgreSQL, SMTP to an aiosmtpd sink in its own process "
            "reading each message's data in large pieces (--lean; line by line it cost as much CPU as one worker); "
            f"{SEND_TASKS} send tasks published at once",
            f"all handed to the outbox after {handed_over_in:,.0f} s; sent by each worker: "
            + ", ".join(f"{sent:,}" for sent in sent_by_worker),
        ],
    ))
    assert duplicates == 0
    assert missed == 0
    assert len(received) == INVITATIONS
    assert Invitation.objects.filter(status=InvitationStatus.SENT, sent_at__isnull=False).count() == INVITATIONS

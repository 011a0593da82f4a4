"""The survey pipeline with every real part: the API takes a delivery, a Celery worker
on Redis sends the email over SMTP, and the links in it open the survey page."""

from __future__ import annotations

import re
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from surveys.models import Invitation, InvitationStatus, Response
from tests.factories import ApiStaffFactory, CustomerFactory, due_invitations, nothing_left_to_send
from tests.support.processes import (
    celery_worker, child_environment, enqueue_from_another_process, together, wait_until,
)
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import smtp_sink

SEND_TASK = "surveys.tasks.send_due_invitations"


def worker_environment(tmp_path, *, sink, site_url: str = "http://127.0.0.1:8000") -> dict[str, str]:
    return child_environment(
        var_dir=tmp_path,
        redis_url=require_redis(),
        EMAIL_HOST=sink.host,
        EMAIL_PORT=str(sink.port),
        SITE_URL=site_url,
    )


def links_in(text: str, site_url: str) -> list[str]:
    return re.findall(re.escape(site_url) + r"/s/[A-Za-z0-9_-]+/\?score=\d+", text)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_posted_to_the_api_reaches_the_contact_with_ten_working_links(live_server, tmp_path):
    CustomerFactory(external_id="CRM-1", name="Acme Logistics")
    _, token = AuthToken.objects.create(user=ApiStaffFactory())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    answer = api.post(
        "/api/v1/deliveries/",
        {
            "customer": "CRM-1",
            "reference": "ORDER-77",
            "delivered_at": (timezone.now() - timedelta(hours=2)).isoformat(),
            "contact_email": "jo@acme.example",
            "contact_name": "Jo Bloggs",
            "description": "the warehouse move",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    queue = f"test-{uuid.uuid4().hex}"

    with smtp_sink() as sink:
        env = worker_environment(tmp_path, sink=sink, site_url=live_server.url)
        with celery_worker(env, queue=queue, log=tmp_path / "worker.log"):
            enqueue_from_another_process(env, task=SEND_TASK, queue=queue)
            arrived = wait_until(lambda: len(sink.received()) == 1, timeout=60)
        assert arrived, (tmp_path / "worker.log").read_text()
        (message,) = sink.received()

    assert message["Subject"] == "How did we do with the warehouse move?"
    assert message["To"] == "Jo Bloggs <jo@acme.example>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "How satisfied are you with the warehouse move?" in text
    assert "Jo Bloggs" in html

    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith(live_server.url + "/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    links = links_in(text, live_server.url)
    assert len(set(links)) == 10
    assert sorted(links) == sorted(set(links_in(html.replace("&amp;", "&"), live_server.url)))
    for link in [*links, unsubscribe]:
        with urllib.request.urlopen(link, timeout=10) as page:
            assert page.status == 200
    assert Response.objects.count() == 0  # opening links records nothing
    assert Invitation.objects.get().status == InvitationStatus.SENT


SWEEP_OUTCOME = re.compile(rf"{SEND_TASK}\[[^\]]+\] succeeded in [\d.]+s: (\d+)")  # how many it sent


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_two_thousand_due_invitations_exactly_once(tmp_path):
    require_postgresql()
    due_invitations(2000)
    assert Invitation.objects.filter(status=InvitationStatus.SCHEDULED).count() == 2000
    queue = f"test-{uuid.uuid4().hex}"
    sweeps = 4
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]

    def outcomes() -> list[list[int]]:
        return [[int(sent) for sent in SWEEP_OUTCOME.findall(log.read_text())] for log in logs]

    with smtp_sink() as sink:
        env = worker_environment(tmp_path, sink=sink)
        with together(  # started side by side
            celery_worker(env, queue=queue, log=logs[0], name="one"),
            celery_worker(env, queue=queue, log=logs[1], name="two"),
        ):
            # Several sweeps at once, as beat and a slow worker could produce.
            enqueue_from_another_process(env, task=SEND_TASK, queue=queue, times=sweeps)
            # Waited for by what they prove, not by the clock, however loaded the machine:
            # every invitation handed over and sent, then every sweep's outcome logged (a
            # worker stopped before then would leave its count out).
            done = wait_until(nothing_left_to_send, timeout=180)
            logged = wait_until(lambda: sum(map(len, outcomes())) >= sweeps, timeout=60)
        received = sink.received()

    assert done and logged, [log.read_text() for log in logs]
    recipients = Counter(message["To"] for message in received)
    assert len(received) == 2000
    assert set(recipients.values()) == {1}
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 2000
    sent_by_worker = [sum(counts) for counts in outcomes()]
    assert sum(sent_by_worker) == 2000
    assert all(count > 0 for count in sent_by_worker), sent_by_worker  # both really worked at once

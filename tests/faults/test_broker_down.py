"""The broker down, paused or emptied loses nothing and hangs nothing: a real gunicorn,
Celery worker and beat on a private Redis (never the machine's shared one) and a real
SMTP server. Respondents answer and an integrator posts deliveries while Redis is
stopped or paused: every request answers within 2 s and its rows are committed. Once
Redis is back the sweeps (beat every SWEEP_SECONDS) find the work in PostgreSQL, and
every survey email and alert email goes out exactly once, counted by Message-ID. A
provider's delivery events posted while Redis is down are stored at once (200) and
applied once it is back. Each test ends with the invariant checker
(tests/support/invariants.py) finding nothing broken.

Needs PostgreSQL and redis-server on PATH: under CI=true they must be there (as `.ci/run`
sets them up); elsewhere the tests are skipped, saying how to enable them."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from knox.models import AuthToken

from auditlog.models import LogEntry
from core.models import DeliveryEvent, OutgoingMessage
from customers.models import Contact
from insights.models import Alert
from surveys.models import Delivery, Response
from tests.factories import (
    ApiStaffFactory,
    ContactFactory,
    CustomerFactory,
    SentMessageFactory,
    UserFactory,
    sent_invitation,
)
from tests.support.invariants import check_invariants, message_ids
from tests.support.providers import MAILGUN_SIGNING_KEY, PROVIDERS, WEBHOOK_SECRET, Provider, basic_auth
from tests.support.processes import (
    celery_beat, celery_worker, child_environment, free_ports, gunicorn_server, together, wait_until,
)
from tests.support.services import require_postgresql
from tests.support.smtp import smtp_sink
from tests.support.redis_server import private_redis

ANSWERS = 3
DELIVERIES = 3
REQUEST_TIMEOUT = 2  # seconds: a request that takes longer fails the test (requests raises)
QUEUE = "celery"  # the default queue: the web and beat publish there; the Redis is ours alone


@pytest.fixture(autouse=True)
def answers_acted_on_at_once(settings):
    """As in the app's processes (below): the invariant checker reads the quiet period too."""
    settings.ANSWER_QUIET_MINUTES = 0


def environment(tmp_path: Path, sink, redis_url: str) -> dict[str, str]:
    """Web, worker and beat on `redis_url` and `sink`; answers acted on at once, sweeps
    every 2 s; the providers' delivery-event webhooks open to the tests' credentials."""
    return child_environment(
        var_dir=tmp_path, redis_url=redis_url, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port),
        ANSWER_QUIET_MINUTES="0", SWEEP_SECONDS="2",
        ANYMAIL_WEBHOOK_SECRET=WEBHOOK_SECRET, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_SIGNING_KEY,
    )


def answerable_tokens(count: int) -> list[str]:
    """Survey emails already sent, each to a customer with an account manager (whom an
    alert emails); their link tokens."""
    tokens = []
    for number in range(count):
        customer = CustomerFactory(account_manager=UserFactory())
        token = f"broker-fault-token-{number}-of-enough-length"
        sent_invitation(token=token, delivery__customer=customer, delivery__contact__customer=customer)
        tokens.append(token)
    return tokens


def staff_api_token() -> tuple[str, str]:
    """A staff API token, and the external id of a customer to post deliveries for."""
    return AuthToken.objects.create(ApiStaffFactory())[1], CustomerFactory().external_id


def answer(url: str, token: str, *, score: int) -> int:
    """A respondent opens the survey link and sends a score, as a browser does; each
    request must answer within REQUEST_TIMEOUT."""
    browser = requests.Session()
    page = browser.get(f"{url}/s/{token}/", timeout=REQUEST_TIMEOUT)
    assert page.status_code == 200, page.text[:500]
    sent = browser.post(f"{url}/s/{token}/", data={"score": score},
                        headers={"Referer": f"{url}/s/{token}/"}, allow_redirects=False, timeout=REQUEST_TIMEOUT)
    return sent.status_code


def post_delivery(url: str, api: tuple[str, str], reference: str) -> int:
    token, customer = api
    body = {
        "customer": customer,
        "reference": reference,
        "delivered_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "contact_email": f"{reference.lower()}@example.com",
        "contact_name": reference,
    }
    answer = requests.post(f"{url}/api/v1/deliveries/", json=body, headers={"Authorization": f"Token {token}"},
                           timeout=REQUEST_TIMEOUT)
    return answer.status_code


def respondents_and_integrator_arrive(url: str, tokens: list[str], api: tuple[str, str], *, batch: str) -> None:
    """Every answer and delivery is accepted, each request answering in time, and committed."""
    assert [answer(url, token, score=3) for token in tokens] == [303] * len(tokens)
    assert [post_delivery(url, api, f"{batch}-{n}") for n in range(DELIVERIES)] == [201] * DELIVERIES
    assert Response.objects.filter(invitation__token_hash__isnull=False, score=3).count() == len(tokens)
    assert Delivery.objects.filter(reference__startswith=f"{batch}-").count() == DELIVERIES


def everything_went_out(expected: int) -> bool:
    """Every answer has its alert, and the outbox has sent `expected` messages with none left to send."""
    settled = not OutgoingMessage.objects.filter(
        status__in=[OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.SENDING]
    ).exists()
    return settled and OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).count() >= expected


def assert_each_sent_exactly_once(received, *, answers: int, deliveries: int) -> None:
    sent = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT)
    assert Counter(sent.values_list("kind", flat=True)) == {"survey-invitation": deliveries, "alert-notification": answers}
    assert not OutgoingMessage.objects.exclude(status__in=[OutgoingMessage.Status.SENT, OutgoingMessage.Status.SUPPRESSED]).exists()
    assert Alert.objects.count() == answers
    received_ids = Counter(message_ids(received))
    assert set(received_ids.values()) == {1}, received_ids  # nothing doubled
    assert set(received_ids) == set(sent.values_list("provider_message_id", flat=True))  # nothing lost
    assert check_invariants(sink_message_ids=message_ids(received)) == []


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(tmp_path.glob("*.log")))


def worker_and_beat_processes(env: dict[str, str], tmp_path: Path) -> list:
    return [celery_worker(env, queue=QUEUE, log=tmp_path / "worker.log"), celery_beat(env, log=tmp_path / "beat.log")]


@contextmanager
def worker_and_beat(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with together(*worker_and_beat_processes(env, tmp_path)):  # started side by side
        yield


@contextmanager
def the_whole_app(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """gunicorn, a worker and beat, started side by side; yields the web server's URL."""
    (port,) = free_ports(1)
    with together(gunicorn_server(env, port=port, log=tmp_path / "web.log"),
                  *worker_and_beat_processes(env, tmp_path)) as (url, *_):
        yield url


def wait_for_everything(tmp_path: Path) -> None:
    """Waits (in the app's processes' lifetime) until the sweeps have sent it all, and a
    second more, in which a doubled send would land."""
    finished = wait_until(lambda: everything_went_out(ANSWERS + DELIVERIES), timeout=25, interval=0.5)
    assert finished, logs(tmp_path)
    time.sleep(1)


def web_log_says_publishing_failed(tmp_path: Path) -> bool:
    return "Could not enqueue" in (tmp_path / "web.log").read_text()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_with_redis_stopped_requests_answer_in_time_and_everything_goes_out_once_it_is_back(tmp_path):
    require_postgresql()
    tokens, api = answerable_tokens(ANSWERS), staff_api_token()
    with smtp_sink() as sink, private_redis(tmp_path) as broker:
        env = environment(tmp_path, sink, broker.url)
        with the_whole_app(env, tmp_path) as url:
            broker.stop()
            respondents_and_integrator_arrive(url, tokens, api, batch="STOPPED")
            assert web_log_says_publishing_failed(tmp_path)
            assert not OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).exists()

            broker.start()
            wait_for_everything(tmp_path)
        received = sink.received()

    assert_each_sent_exactly_once(received, answers=ANSWERS, deliveries=DELIVERIES)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_with_redis_paused_requests_answer_in_time_and_nothing_is_lost(tmp_path):
    require_postgresql()
    tokens, api = answerable_tokens(ANSWERS), staff_api_token()
    with smtp_sink() as sink, private_redis(tmp_path) as broker:
        env = environment(tmp_path, sink, broker.url)
        with the_whole_app(env, tmp_path) as url:
            broker.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
            respondents_and_integrator_arrive(url, tokens, api, batch="PAUSED")
            assert web_log_says_publishing_failed(tmp_path)  # the pause was felt
            wait_for_everything(tmp_path)
        received = sink.received()

    assert_each_sent_exactly_once(received, answers=ANSWERS, deliveries=DELIVERIES)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_redis_restarted_empty_while_messages_wait_the_sweeps_send_everything_once_from_postgresql(tmp_path):
    require_postgresql()
    tokens, api = answerable_tokens(ANSWERS), staff_api_token()
    (port,) = free_ports(1)
    with smtp_sink() as sink, private_redis(tmp_path) as broker:
        env = environment(tmp_path, sink, broker.url)
        with gunicorn_server(env, port=port, log=tmp_path / "web.log") as url:
            # No worker yet: the answers' evaluation tasks wait in Redis.
            respondents_and_integrator_arrive(url, tokens, api, batch="WAITING")
        assert broker.client().llen(QUEUE) >= ANSWERS

        broker.stop()
        broker.start()
        assert broker.client().llen(QUEUE) == 0  # the waiting messages are gone

        with worker_and_beat(env, tmp_path):
            wait_for_everything(tmp_path)
        received = sink.received()

    assert_each_sent_exactly_once(received, answers=ANSWERS, deliveries=DELIVERIES)


def post_event(url: str, provider: Provider, payload: dict) -> int:
    """A provider posts a delivery event to its anymail webhook, as it would over the web;
    the answer must come within REQUEST_TIMEOUT."""
    headers = {"Content-Type": provider.content_type}
    for key, value in {**basic_auth(), **provider.headers(payload)}.items():  # Django's names, as HTTP's
        headers[key.removeprefix("HTTP_").replace("_", "-")] = value
    return requests.post(f"{url}{provider.url}", data=json.dumps(payload).encode(), headers=headers,
                         timeout=REQUEST_TIMEOUT).status_code


def bounced_message(address: str) -> OutgoingMessage:
    """A message sent an hour ago to `address`, a contact at two customers."""
    ContactFactory(email=address)
    ContactFactory(email=address)
    return SentMessageFactory(recipient=address)


def bounce_is_posted_twice(url: str, provider: Provider, message: OutgoingMessage) -> None:
    """The provider reports the message's hard bounce, and (its first call unanswered, as
    far as it knows) once more: both answered 200."""
    payload = provider.hard_bounce(to=message.recipient, message_id=message.provider_message_id,
                                   at=timezone.now() - timedelta(minutes=1))
    assert [post_event(url, provider, payload) for _ in range(2)] == [200, 200]


def undeliverable_changes(contact: Contact) -> int:
    """How often the contact's audit trail records it made undeliverable."""
    updates = LogEntry.objects.get_for_object(contact).filter(action=LogEntry.Action.UPDATE)
    return sum("undeliverable_reason" in str(entry.changes) for entry in updates)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_delivery_events_posted_while_redis_is_down_are_stored_at_once_and_applied_once_it_is_back(tmp_path):
    require_postgresql()
    messages = {provider: bounced_message(f"bounced-{number}@example.com") for number, provider in enumerate(PROVIDERS)}
    paused_message = bounced_message("bounced-while-paused@example.com")
    with smtp_sink() as sink, private_redis(tmp_path) as broker:
        env = environment(tmp_path, sink, broker.url)
        with the_whole_app(env, tmp_path) as url:
            broker.stop()
            for provider, message in messages.items():
                bounce_is_posted_twice(url, provider, message)
            assert web_log_says_publishing_failed(tmp_path)
            # Stored once each, in PostgreSQL, and not applied: no worker heard of them.
            assert DeliveryEvent.objects.filter(applied_at__isnull=True).count() == len(PROVIDERS)
            assert not Contact.objects.filter(undeliverable_at__isnull=False).exists()

            broker.start()
            broker.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
            bounce_is_posted_twice(url, PROVIDERS[0], paused_message)

            applied = wait_until(lambda: not DeliveryEvent.objects.filter(applied_at__isnull=True).exists(),
                                 timeout=20, interval=0.5)
            assert applied, logs(tmp_path)
            time.sleep(1)  # in which a second application would land
        received = sink.received()

    assert DeliveryEvent.objects.count() == len(PROVIDERS) + 1
    for message in [*messages.values(), paused_message]:
        message.refresh_from_db()
        assert message.status == OutgoingMessage.Status.BOUNCED, message.recipient
    contacts = Contact.objects.all()
    assert {contact.undeliverable_reason for contact in contacts} == {"bounced"}
    assert [undeliverable_changes(contact) for contact in contacts] == [1] * contacts.count()  # applied once
    assert check_invariants(sink_message_ids=message_ids(received)) == []

"""`make bench`: what the two public survey paths cost inside one process, the Python and
SQL of a request with no web server around it (figure P1-inproc).

- P1b, the survey page: GET `/s/<token>/` of a sent invitation;
- P1, a first answer: POST `/s/<token>/` with a score, every transaction committed, the
  quiet-period evaluation published to the real broker (Redis when REDIS_URL is set)
  as in production, not run inline;
- the floor: GET `/health/live` (a view that touches nothing) through the full
  middleware, what any request of this project pays before a view does any work.

Each goes through the WSGI application gunicorn serves (config/wsgi.py: the survey
pages' own short middleware chain, the floor the full one), as in production, on
distinct tokens (each answer is a first answer), interleaved round by
round (GET, POST, floor, the order turned each round). Queries per request are counted in a pass of their own,
since counting them slows every query a little.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from config import wsgi
from config.celery import app as celery_app
from surveys.models import Response
from tests.benchmarks import report
from tests.factories import many_sent_invitations
from tests.support.wsgi import Answer, call

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

ROUNDS = report.size(6, 2)
PER_ROUND = report.size(200, 5)
# Judged against the floor of the same run: a request to the survey page may cost this
# many times a request that does nothing, an answer this many (it writes and commits).
TARGET_GET_TIMES_FLOOR = 4.0
TARGET_POST_TIMES_FLOOR = 6.0


CHANGED = (
    "the token lookup reads one narrow row (no ORDER BY, only the columns the pages use, the customer and the "
    "sender only when a text names them) with SQL written once per process instead of compiled by the ORM each "
    "time (surveys/link_lookup.py); `/s/` goes through a middleware chain of its own (config/wsgi.py: no "
    "whitenoise, sessions, auth, audit, messages, webhooks' guard or axes, every security header, CSP and "
    "the metrics kept); the survey pages set no cookie and need no CSRF token (their link's token is their "
    "only key; a forged form cannot know it), so a page no longer makes and masks a CSRF secret; who is asking and the texts in the contact's language are kept a few seconds per web "
    "process (surveys/page_setup.py); a first answer is claimed with one UPDATE instead of a locked SELECT and a "
    "look for an earlier answer, and becomes the customer's latest answer from the answer in hand instead of "
    "correlated subqueries, the three in one statement on PostgreSQL (writable CTEs written once per process, "
    "surveys/first_answer.py), and insights' rollup writes for it are one more (5 statements with BEGIN "
    "and COMMIT instead of 9); statements are bound and prepared by PostgreSQL (psycopg's prepare_threshold), "
    "so the repeated ones are planned once per connection; the on-commit Celery publish goes through one Redis "
    "client per channel instead of one built per message (core/broker.py); an answer writes fewer index "
    "entries (no LIKE-prefix copies of the token hashes' indexes, no customer indexes that a composite one "
    "repeats, and the customer's latest answer unindexed so that its update is HOT); the rate limit counts with one Redis "
    "command (a Lua script) instead of three round trips, through one Redis client per process; the answer form "
    "is rendered from plain values instead of a bound Django form; on the page, the score buttons are rendered "
    "once per scale and choice, and the head's links and scripts, the scale's ends and the comment's label once "
    "per process and language, kept like the sender ({% kept %}); the survey pages' URLs are tried first; the "
    "Content-Security-Policy header is built once per process instead of for every response"
)


def tokens(prefix: str, count: int) -> list[str]:
    found = [f"bench-{prefix}-{number:05d}-token-of-normal-length" for number in range(count)]
    many_sent_invitations(found)
    with connection.cursor() as cursor:
        # What autovacuum does as the tables grow: the statements prepared on this
        # connection are then planned for tables of their size, not as first seen.
        cursor.execute("ANALYZE customers_customer, customers_contact, surveys_delivery, surveys_invitation")
    return found


def ms_per_request(requests) -> tuple[float, float]:
    """Wall-clock and this process's CPU milliseconds per request: on a busy machine
    the wall clock also counts waiting for PostgreSQL and Redis to be scheduled."""
    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for request in requests:
        request()
        count += 1
    return (time.perf_counter() - started) * 1000 / count, (time.process_time() - cpu_started) * 1000 / count


class Browser:
    """Requests to the WSGI application, as a browser sends them: the survey pages set
    no cookie and their forms carry no CSRF token (surveys.views.public_page)."""

    def __init__(self) -> None:
        self.factory = RequestFactory()

    def get(self, path: str) -> Answer:
        return call(wsgi.application, self.factory.get(path))

    def post(self, path: str, data: dict[str, str]) -> Answer:
        return call(wsgi.application, self.factory.post(path, data))


def get_page(client: Browser, token: str):
    def request():
        answer = client.get(f"/s/{token}/")
        assert answer.status == 200, answer.status

    return request


def post_answer(client: Browser, token: str, score: int):
    def request():
        answer = client.post(f"/s/{token}/", {"score": str(score), "comment": ""})
        assert answer.status == 303, answer.status

    return request


def get_floor(client: Browser):
    def request():
        assert client.get("/health/live").status == 200

    return request


def queries_per_request(requests) -> float:
    with CaptureQueriesContext(connection) as queries:
        count = sum(1 for request in requests if request() is None)
    return len(queries) / count


@pytest.fixture
def published_to_the_broker():
    """Tasks go to the broker as in production (the suite runs them inline), and what
    this benchmark published is purged afterwards."""
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.control.purge()
        celery_app.conf.task_always_eager = True


def test_the_public_survey_paths_in_process(settings, published_to_the_broker):
    settings.PUBLIC_RATE_LIMIT = 10**9  # counted as ever, never refused
    client = Browser()
    warm = tokens("warm", report.size(10, 2))
    for number, token in enumerate(warm):
        get_page(client, token)()
        post_answer(client, token, number % 10 + 1)()
        get_floor(client)()

    times: dict[str, list[float]] = {"GET": [], "POST": [], "floor": []}
    cpu: dict[str, list[float]] = {"GET": [], "POST": [], "floor": []}
    for round_number in range(ROUNDS):
        batch = tokens(f"r{round_number}", PER_ROUND)
        runs = {
            "GET": lambda: ms_per_request(get_page(client, token) for token in batch),
            "POST": lambda: ms_per_request(
                post_answer(client, token, number % 10 + 1) for number, token in enumerate(batch)
            ),
            "floor": lambda: ms_per_request(get_floor(client) for _ in batch),
        }
        order = ["GET", "POST", "floor"] if round_number % 2 == 0 else ["floor", "GET", "POST"]
        for name in order:
            wall, processor = runs[name]()
            times[name].append(wall)
            cpu[name].append(processor)

    counted = tokens("counted", report.size(20, 2))
    get_queries = queries_per_request(get_page(client, token) for token in counted)
    post_queries = queries_per_request(post_answer(client, token, 7) for token in counted)
    assert Response.objects.count() == len(warm) + ROUNDS * PER_ROUND + len(counted)  # every answer stored once

    spread = {name: report.Spread.of(values) for name, values in times.items()}
    cpu_spread = {name: report.Spread.of(values) for name, values in cpu.items()}
    get_ratio = spread["GET"].median / spread["floor"].median
    post_ratio = spread["POST"].median / spread["floor"].median
    report.record(
        report.Figure(
            id="P1-inproc",
            path="`/s/<token>/` in process: survey page GET (P1b), first answer POST (P1)",
            ours=f"GET {spread['GET'].text(' ms', 2)}, {get_queries:.0f} queries; "
            f"POST {spread['POST'].text(' ms', 2)}, {post_queries:.0f} queries",
            baseline=f"do-nothing view through the full middleware: {spread['floor'].text(' ms', 2)}",
            ratio=f"GET {get_ratio:.1f}× the floor, POST {post_ratio:.1f}×",
            target=f"GET ≤ {TARGET_GET_TIMES_FLOOR:.0f}×, POST ≤ {TARGET_POST_TIMES_FLOOR:.0f}× the floor",
            met=get_ratio <= TARGET_GET_TIMES_FLOOR and post_ratio <= TARGET_POST_TIMES_FLOOR,
            changed=CHANGED,
            details=[
                f"{ROUNDS} rounds of {PER_ROUND} requests each, distinct tokens, {connection.vendor}, "
                f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}",
                "the WSGI application as gunicorn calls it (the survey pages' short middleware chain, the floor's "
                "full one), no web server; queries counted in a pass of their own "
                "(BEGIN and COMMIT included)",
                "CPU of this process per request: "
                + ", ".join(f"{name} {cpu_spread[name].text(' ms', 2)}" for name in ("GET", "POST", "floor")),
            ],
        )
    )

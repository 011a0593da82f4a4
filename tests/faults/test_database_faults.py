"""Database faults (issue 16, proof 3), on real processes: connections terminated under a
gunicorn web process and a Celery worker, and the next request and the next task
succeed; a web process whose PostgreSQL is unreachable answers 503 with Retry-After,
JSON under /api/ and a friendly page elsewhere, never a stack trace.

The outage is honest without stopping the machine's PostgreSQL (others use it): a real
gunicorn is pointed at a port where nothing listens."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from knox.models import AuthToken

from tests.conftest import IN_CI
from tests.factories import ApiStaffFactory, due_invitations, nothing_left_to_send, sent_invitation
from tests.faults.test_worker_killed import terminate_other_backends
from tests.support.invariants import check_invariants, message_ids
from tests.support.processes import celery_worker, child_environment, enqueue_from_another_process, gunicorn_server
from tests.support.processes import wait_until
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp import free_port, smtp_sink

SURVEY_TOKEN = "a-survey-token-for-the-database-faults"
UNREACHABLE_DATABASE = "postgres://nobody@127.0.0.1:{port}/none?connect_timeout=2"


def require_processes() -> None:
    if not IN_CI:
        pytest.skip("Starts gunicorn and Celery processes; run with CI=true (as `.ci/run` does) to include it.")


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read().decode()


def assert_no_stack_trace(text: str) -> None:
    for tell in ("Traceback", "OperationalError", "psycopg", 'File "'):
        assert tell not in text, text[:2000]


@pytest.mark.django_db(transaction=True)
def test_connections_terminated_under_the_web_process_the_next_requests_succeed(tmp_path):
    require_processes()
    require_postgresql()
    _, token = AuthToken.objects.create(user=ApiStaffFactory())
    sent_invitation(token=SURVEY_TOKEN)
    api = {"Authorization": f"Token {token}", "Accept": "application/json"}

    env = child_environment(var_dir=tmp_path, redis_url=None)
    with gunicorn_server(env, port=free_port(), log=tmp_path / "gunicorn.log") as url:
        # The web process keeps its connection between requests (CONN_MAX_AGE).
        assert fetch(f"{url}/api/v1/alerts/", headers=api)[0] == 200
        assert terminate_other_backends() >= 1
        status, _, body = fetch(f"{url}/api/v1/alerts/", headers=api)
        assert status == 200, body[:2000]
        assert terminate_other_backends() >= 1
        status, _, page = fetch(f"{url}/s/{SURVEY_TOKEN}/")
        assert status == 200, page[:2000]
    assert check_invariants() == []


@pytest.mark.django_db(transaction=True)
def test_connections_terminated_under_the_worker_the_next_task_succeeds(tmp_path):
    require_processes()
    require_postgresql()
    queue = f"test-{uuid.uuid4().hex}"
    with smtp_sink() as sink:
        env = child_environment(var_dir=tmp_path, redis_url=require_redis(), EMAIL_HOST=sink.host,
                                EMAIL_PORT=str(sink.port), SITE_URL="http://testserver")
        with celery_worker(env, queue=queue, log=tmp_path / "worker.log") as worker:
            due_invitations(1, reference="FIRST-{}")
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            assert wait_until(lambda: len(sink.received()) == 1 and nothing_left_to_send(), timeout=30), (
                tmp_path / "worker.log"
            ).read_text()

            assert terminate_other_backends() >= 1  # the idle worker's connection among them
            due_invitations(1, reference="SECOND-{}", address="second{}@example.com")
            enqueue_from_another_process(env, task="surveys.tasks.send_due_invitations", queue=queue)
            sent = wait_until(lambda: len(sink.received()) == 2 and nothing_left_to_send(), timeout=30)
            assert worker.poll() is None
        received = sink.received()

    assert sent, (tmp_path / "worker.log").read_text()
    assert check_invariants(sink_message_ids=message_ids(received)) == []


def test_with_the_database_unreachable_every_request_answers_503_with_retry_after(tmp_path):
    require_processes()
    env = child_environment(var_dir=tmp_path, redis_url=None, DEBUG="")
    env["DATABASE_URL"] = UNREACHABLE_DATABASE.format(port=free_port())  # nothing listens there
    api = {"Authorization": "Token " + "x" * 64, "Accept": "application/json"}
    signed_in = {"Cookie": "sessionid=" + "s" * 32}

    with gunicorn_server(env, port=free_port(), log=tmp_path / "gunicorn.log") as url:
        answers = {
            "api read": fetch(f"{url}/api/v1/alerts/", headers=api),
            "api write": fetch(f"{url}/api/v1/deliveries/", method="POST", body=b"{}",
                               headers={**api, "Content-Type": "application/json"}),
            "page": fetch(f"{url}/alerts/", headers=signed_in),
            "survey page": fetch(f"{url}/s/{SURVEY_TOKEN}/"),
        }
    log = (tmp_path / "gunicorn.log").read_text()

    for name, (status, headers, body) in answers.items():
        assert status == 503, (name, body[:2000], log[-3000:])
        assert int(headers["Retry-After"]) > 0, name
        assert_no_stack_trace(body)
    for name in ("api read", "api write"):
        status, headers, body = answers[name]
        assert headers["Content-Type"].startswith("application/json"), name
        assert set(json.loads(body)) == {"detail"}, name
    for name in ("page", "survey page"):
        status, headers, body = answers[name]
        assert headers["Content-Type"].startswith("text/html"), name
        assert "Briefly unavailable" in body, name
        assert "script-src" in headers["Content-Security-Policy"], name  # the strict policy, as everywhere
    # Logged with what was asked, for the operator.
    assert "Database unavailable: GET /api/v1/alerts/ answered 503" in log


# --- The same handling in-process, without processes (runs everywhere).


def _answer_while_handling(exc: Exception, path: str):
    from django.test import RequestFactory

    from core.api.errors import server_error

    try:
        raise exc
    except Exception:  # Django calls handler500 while handling the exception
        return server_error(RequestFactory().get(path))


def test_a_lost_database_is_a_503_not_a_500_for_pages_and_the_api():
    from django.db import InterfaceError, OperationalError

    page = _answer_while_handling(OperationalError("connection refused"), "/alerts/")
    api = _answer_while_handling(InterfaceError("connection already closed"), "/api/v1/alerts/")

    assert (page.status_code, page["Retry-After"]) == (503, "30")
    assert b"Briefly unavailable" in page.content and b"connection refused" not in page.content
    assert (api.status_code, api["Retry-After"]) == (503, "30")
    assert set(json.loads(api.content)) == {"detail"}


def test_any_other_crash_is_still_a_500():
    assert _answer_while_handling(ValueError("a bug"), "/api/v1/alerts/").status_code == 500


def test_the_api_exception_handler_answers_a_lost_database_with_503_json():
    from django.db import OperationalError
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from core.api.errors import exception_handler

    request = Request(APIRequestFactory().get("/api/v1/alerts/"))
    answer = exception_handler(OperationalError("server closed the connection"), {"request": request, "view": APIView()})

    assert (answer.status_code, answer["Retry-After"]) == (503, "30")
    assert set(answer.data) == {"detail"}

"""The production start (README "Running in production"): gunicorn.conf.py, static files
collected and served by WhiteNoise with DEBUG off, and two web servers with two workers
on one PostgreSQL and one Redis working together."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import re
import subprocess
import sys
import time
import uuid
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from core.models import Heartbeat, TaskTally
from tests.factories import CustomerFactory, due_invitations, nothing_left_to_send
from tests.support.processes import (
    GUNICORN, PROJECT_DIR, celery_worker, child_environment, enqueue_from_another_process, free_ports, gunicorn_server,
    http_get, stop, together, wait_until,
)
from tests.support.services import require_postgresql, require_redis
from tests.support.smtp_sink_process import running_sink
from tests.test_settings import PRODUCTION_KEY, run_with


def _gunicorn_config(tmp_path: Path, **env: str) -> str:
    """gunicorn's settings as gunicorn.conf.py makes them under `env` (and no other of its variables)."""
    base = child_environment(var_dir=tmp_path, redis_url=None)
    for name in ("WEB_CONCURRENCY", "PORT", "BIND", "GUNICORN_TIMEOUT"):
        base.pop(name, None)
    result = subprocess.run(
        [GUNICORN, "--print-config", "config.wsgi:application"], cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=60, env={**base, **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gunicorn_conf_passes_gunicorns_own_check():
    result = subprocess.run([GUNICORN, "--check-config", "config.wsgi:application"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_gunicorn_takes_its_workers_from_the_cpu_count_unless_told(tmp_path):
    default = _gunicorn_config(tmp_path)
    assert re.search(rf"^workers\s+= {2 * multiprocessing.cpu_count() + 1}$", default, re.M)
    assert re.search(r"^accesslog\s+= -$", default, re.M)
    told = _gunicorn_config(tmp_path, WEB_CONCURRENCY="3", PORT="9123", GUNICORN_TIMEOUT="45")
    assert re.search(r"^workers\s+= 3$", told, re.M)
    assert re.search(r"^bind\s+= \['0.0.0.0:9123'\]$", told, re.M)
    assert re.search(r"^timeout\s+= 45$", told, re.M)
    assert re.search(r"^bind\s+= \['127.0.0.1:9200'\]$", _gunicorn_config(tmp_path, BIND="127.0.0.1:9200"), re.M)


def _serves(url: str) -> bool:
    try:
        return http_get(url, timeout=2)[0] == 200
    except OSError:
        return False


def _read(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read().decode("utf-8", errors="replace")


def _static_references() -> set[str]:
    """Every {% static '…' %} written in a template of the project."""
    templates = [*PROJECT_DIR.glob("templates/**/*.html"), *PROJECT_DIR.glob("*/templates/**/*.html")]
    return {
        found for template in templates
        for found in re.findall(r"""\{%\s*static\s+['"]([^'"]+)['"]""", template.read_text())
    }


@pytest.fixture(scope="module")
def collected(django_db_setup, tmp_path_factory) -> Path:
    """A var directory whose static/ holds what `manage.py collectstatic` collects as
    production runs it (COLLECTSTATIC, DEBUG off): collected once (seconds of work) for
    the tests below that serve it and render every page with its manifest."""
    var_dir = tmp_path_factory.mktemp("collected")
    env = child_environment(var_dir=var_dir, redis_url=None, COLLECTSTATIC="true", DEBUG="")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=PROJECT_DIR, env=env,
                   check=True, capture_output=True, timeout=120)
    return var_dir


@pytest.mark.django_db
def test_collected_static_files_are_served_with_debug_off_and_metrics_count_every_worker(collected, tmp_path):
    env = child_environment(var_dir=collected, redis_url=None, COLLECTSTATIC="true", DEBUG="",
                            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    manifest = json.loads((collected / "static" / "staticfiles.json").read_text())["paths"]
    # Gzip copies only, as production makes them, even where the brotli package is installed.
    assert list((collected / "static").rglob("*.gz")) and not list((collected / "static").rglob("*.br"))
    # The manifest storage refuses (a 500) any {% static %} it has not collected.
    assert _static_references() and _static_references() <= manifest.keys()

    (port,) = free_ports(1)
    with gunicorn_server(env, port=port, log=tmp_path / "gunicorn.log") as url:
        status, _, page = _read(f"{url}/login/")
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
        assert status == 200 and stylesheet, page[:2000]
        status, headers, css = _read(f"{url}{stylesheet[1]}")
        assert status == 200 and css
        assert "immutable" in headers["Cache-Control"]
        assert _read(f"{url}/health/live")[0] == 200
        # The request counts, kept in PROMETHEUS_MULTIPROC_DIR for every gunicorn worker.
        metrics = _read(f"{url}/metrics")[2]
        assert re.search(r'valuepulse_http_requests_total\{method="GET",status="200",view="login"\} [1-9]', metrics)
        assert list((tmp_path / "metrics").glob("*.db"))


@pytest.mark.django_db
def test_gunicorn_stops_within_seconds_of_sigterm_after_its_workers_served_pages(tmp_path):
    """Its workers have loaded the pages (URLs, views, templates): a worker's exit skips
    Python's teardown of the app shared with the master, which took seconds each."""
    (port,) = free_ports(1)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen([GUNICORN, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "5"],
                                  cwd=PROJECT_DIR, env=child_environment(var_dir=tmp_path, redis_url=None),
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: _serves(f"http://127.0.0.1:{port}/login/"), timeout=60), log.read_text()
        for _ in range(12):
            assert _read(f"http://127.0.0.1:{port}/login/")[0] == 200
        started = time.monotonic()
        server.terminate()
        assert server.wait(timeout=20) == 0
        stopped_in = time.monotonic() - started
    finally:
        stop(server)
    assert stopped_in < 4, f"gunicorn took {stopped_in:.1f} s to stop"
    assert "Shutting down: Master" in log.read_text()


def test_the_wsgi_module_imports_every_view_before_gunicorn_forks(tmp_path):
    """What gunicorn's master preloads, its workers share: no worker imports the views on
    its first request."""
    result = run_with(tmp_path, ["-c", "import sys, config.wsgi; print('surveys.views' in sys.modules)"],
                      DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def _gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", PROJECT_DIR / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("status", [0, None])
def test_a_worker_stopping_cleanly_ends_at_once_status_zero(monkeypatch, status):
    ended = []
    monkeypatch.setattr("os._exit", ended.append)
    try:
        raise SystemExit(status)
    except SystemExit:
        _gunicorn_conf().worker_exit(server=None, worker=None)
    assert ended == [0]


@pytest.mark.parametrize("failure", [SystemExit(3), SystemExit(-1), RuntimeError("boom")])
def test_a_worker_failing_exits_the_usual_way_keeping_its_status(monkeypatch, failure):
    """A boot error's status (3) is what makes the master halt instead of forking again."""
    ended = []
    monkeypatch.setattr("os._exit", ended.append)
    try:
        raise failure
    except BaseException:  # noqa: BLE001 - the hook runs while any of them is on its way out
        _gunicorn_conf().worker_exit(server=None, worker=None)
    assert ended == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_two_web_servers_and_two_workers_work_together_and_a_doubled_beat_sends_nothing_twice(tmp_path):
    """Two gunicorns and two workers on one PostgreSQL and one Redis. Beat running twice
    publishes every periodic task twice: here each sweep is published twice at once, and
    each invitation still goes out exactly once."""
    require_postgresql()
    redis_url = require_redis()
    invitations = 200
    due_invitations(invitations, customers=CustomerFactory.create_batch(5), address="scale{}@example.com")
    queue = f"scale-{uuid.uuid4().hex}"
    first_port, second_port = free_ports(2)
    with running_sink(tmp_path / "received.txt") as sink:
        env = child_environment(var_dir=tmp_path, redis_url=redis_url, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port))
        with together(  # started side by side
            gunicorn_server(env, port=first_port, log=tmp_path / "web1.log"),
            gunicorn_server(env, port=second_port, log=tmp_path / "web2.log"),
            celery_worker(env, queue=queue, log=tmp_path / "worker1.log", name="scale-one"),
            celery_worker(env, queue=queue, log=tmp_path / "worker2.log", name="scale-two"),
        ) as (first, second, _, _):
            for task in ("surveys.tasks.send_due_invitations", "core.tasks.sweep_outbox"):
                enqueue_from_another_process(env, task=task, queue=queue, times=2)
            finished = wait_until(nothing_left_to_send, timeout=45, interval=0.5)
            wait_until(lambda: sink.count() >= invitations, timeout=10)
            ready = [json.loads(_read_any(f"{server}/health/ready?format=json")) for server in (first, second)]
            scraped = [_read(f"{server}/metrics")[2] for server in (first, second)]
        received = Counter(sink.recipients())

    logs = "\n".join(log.read_text()[-2000:] for log in tmp_path.glob("*.log"))
    assert finished, logs
    assert len(received) == invitations and set(received.values()) == {1}
    # Both workers beat; each web server sees it, and they tell one story from the database.
    assert Heartbeat.objects.filter(name__startswith="worker:scale-").count() == 2
    assert all(answer["checks"]["worker"]["ok"] for answer in ready)
    sent = 'valuepulse_outbox_messages{kind="survey-invitation",status="sent"} 200.0'
    assert all(sent in text for text in scraped)
    assert TaskTally.objects.get(task="surveys.tasks.send_due_invitations").runs >= 2


def _read_any(url: str) -> str:
    """The body whatever the status (/health/ready is 503 here: no beat runs)."""
    try:
        return _read(url)[2]
    except urllib.error.HTTPError as answer:
        return answer.read().decode()


# --- The production settings.
PRODUCTION_FACTS = """
import json, django
django.setup()
import sentry_sdk
from django.conf import settings as s
print(json.dumps({
    "storage": s.STORAGES["staticfiles"]["BACKEND"],
    "finders": s.WHITENOISE_USE_FINDERS,
    "sentry_dsn": str(sentry_sdk.get_client().dsn or ""),
}))
"""


def _production_facts(tmp_path, **env: str) -> dict:
    result = run_with(tmp_path, ["-c", PRODUCTION_FACTS], SECRET_KEY=PRODUCTION_KEY, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_collectstatic_switches_to_the_manifest_and_off_the_finders(tmp_path):
    assert _production_facts(tmp_path, COLLECTSTATIC="true") == {
        "storage": "core.staticfiles.GzipManifestStaticFilesStorage", "finders": False, "sentry_dsn": "",
    }
    development = _production_facts(tmp_path, COLLECTSTATIC="true", DEBUG="true")
    assert development["storage"].endswith(".StaticFilesStorage") and development["finders"] is True


def test_sentry_starts_only_with_a_dsn(tmp_path):
    dsn = "https://public@sentry.invalid/1"
    assert _production_facts(tmp_path, SENTRY_DSN=dsn)["sentry_dsn"] == dsn


def test_a_wrong_metrics_address_stops_start_up_naming_it(tmp_path):
    result = run_with(tmp_path, ["-c", PRODUCTION_FACTS], SECRET_KEY=PRODUCTION_KEY,
                      METRICS_ALLOWED_ADDRESSES="10.0.0.0/8,prometheus.local")
    assert result.returncode != 0
    assert "METRICS_ALLOWED_ADDRESSES: 'prometheus.local'" in result.stderr


@pytest.mark.django_db
def test_every_page_renders_with_the_collected_manifest(collected, settings, tmp_path):
    """Under COLLECTSTATIC every {% static %} (the admin's and Swagger UI's included)
    must be in the manifest, or the page is a 500: staff and a manager walk every page."""
    from django.test import Client

    from tests.support.site_map import build_portfolio, page_urls

    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    settings.STATIC_ROOT = collected / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "core.staticfiles.GzipManifestStaticFilesStorage"}}
    portfolio = build_portfolio()
    broken = []
    for role in ("staff", "manager_a"):
        visitor = Client(raise_request_exception=False)
        visitor.force_login(portfolio.user(role))
        broken += [f"{role} GET {page.url}: {status}" for page in page_urls(portfolio)
                   if (status := visitor.get(page.url).status_code) >= 500 and page.route != "health-ready"]
    assert broken == []
    # The manifest was in force: the pages name the hashed files.
    assert re.search(r"/static/css/app\.[0-9a-f]{12}\.css", Client().get("/login/").content.decode())

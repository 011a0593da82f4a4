"""Starting the project's real processes (Celery worker, gunicorn, management commands) from tests."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import quote

import psutil
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection

from tests.support.parallel import keep_redis_url_as_given, ports_of_this_worker

PROJECT_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def test_database_url() -> str:
    """A DATABASE_URL pointing a child process at the database this test uses."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = quote(settings["USER"] or "")
    if settings.get("PASSWORD"):
        credentials += ":" + quote(settings["PASSWORD"])
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


def child_environment(*, var_dir: Path, redis_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a child process on this test's database and `redis_url`'s
    broker (the embedded one when None); `extra` adds settings such as EMAIL_HOST."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DATABASE_URL=test_database_url(), VALUEPULSE_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    if redis_url:
        env["REDIS_URL"] = redis_url
        keep_redis_url_as_given(env)
    return env


@contextmanager
def celery_worker(
    env: dict[str, str], *, queue: str, log: Path, name: str = "test", timeout: float = 60, concurrency: int = 0,
    include: str = "",
) -> Iterator[subprocess.Popen]:
    """A real Celery worker consuming `queue`, stopped (by its own PID) afterwards: one
    process running the tasks itself (the solo pool), or with `concurrency` it hands them
    to that many pool children (the prefork pool, as in production). `include` names more
    task modules for it to import (a benchmark's own tasks)."""
    pool = ["--pool", "prefork", "--concurrency", str(concurrency)] if concurrency else ["--pool", "solo"]
    command = [CELERY, "-A", "config", "worker", "-Q", queue, "-n", f"{name}@%h", *pool,
               "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    if include:
        command += ["--include", include]
    with _started(command, env=env, log=log, ready=lambda: "ready." in log.read_text(), what="Celery worker",
                  timeout=timeout) as worker:
        yield worker


def pool_child_connected_to(worker: subprocess.Popen, port: int) -> psutil.Process | None:
    """The worker's pool child with a TCP connection open to 127.0.0.1:`port` (the one
    talking to that server now), or None."""
    for child in psutil.Process(worker.pid).children():
        try:
            if any(connection.raddr and connection.raddr.port == port for connection in child.net_connections("tcp")):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


@contextmanager
def celery_beat(env: dict[str, str], *, log: Path, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """A real Celery beat publishing the project's schedule (its file under the test's
    VALUEPULSE_VAR_DIR), stopped (by its own PID) afterwards."""
    command = [CELERY, "-A", "config", "beat", "--loglevel", "INFO"]
    with _started(command, env=env, log=log, ready=lambda: "beat: Starting" in log.read_text(), what="Celery beat",
                  timeout=timeout) as beat:
        yield beat


@contextmanager
def gunicorn_server(
    env: dict[str, str], *, port: int, log: Path, workers: int = 1, timeout: float = 60
) -> Iterator[str]:
    """The app served by a real gunicorn (`workers` sync workers, with gunicorn.conf.py's
    other settings) on 127.0.0.1:`port`, ready to answer; yields its base URL and stops
    it (by its own PID) afterwards."""
    url = f"http://127.0.0.1:{port}"
    command = [GUNICORN, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--access-logfile", "-"]
    # Its own "Listening at" first: a port taken meanwhile by another process (other test
    # runs share this machine) must not pass for this server because that one answers.
    listening = f"Listening at: {url} "
    with _started(command, env=env, log=log, ready=lambda: listening in log.read_text() and _answers(f"{url}/login/"),
                  what=f"gunicorn on {url}", timeout=timeout):
        yield url


@contextmanager
def _started(
    command: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool], what: str, timeout: float
) -> Iterator[subprocess.Popen]:
    """Runs `command` with its output in `log` until `ready()` says yes; stops it by its own PID afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        stop(process, timeout=20)


def stop(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """Ends a process a test started, by its own PID: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, str]]:
    """GET `url`; its status and headers, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers)


def _answers(url: str) -> bool:
    try:
        http_get(url, timeout=2)
    except (OSError, http.client.HTTPException):
        return False
    return True


def enqueue_from_another_process(env: dict[str, str], *, task: str | list[str], queue: str, times: int = 1) -> None:
    """Publishes `task` (`times` messages; or each of a list of tasks, in order) as a
    separate web process would, through the broker `env` names."""
    tasks = [task] if isinstance(task, str) else task
    code = (
        "import django; django.setup();"
        "from config.celery import app;"
        f"[app.send_task(name, queue={queue!r}) for name in {tasks!r} for _ in range({times})]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, check=True, timeout=60)


def publish_to_worker(env: dict[str, str], *, task: str | list[str], queue: str) -> None:
    """Publishes `task` (or each of a list, in order) to `queue` on the Redis broker `env`
    names, as the web or beat would, from this process: seconds quicker than starting one."""
    from config.celery import app

    with app.connection_for_write(env["REDIS_URL"]) as connection, warnings.catch_warnings():
        # The tests run tasks in process (conftest), which send_task rightly ignores.
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        for name in [task] if isinstance(task, str) else task:
            app.send_task(name, queue=queue, connection=connection)


def wait_until(condition, *, timeout: float = 60, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@contextmanager
def together(*processes: AbstractContextManager) -> Iterator[list]:
    """Enters context managers such as gunicorn_server() and celery_worker() at once, so
    their processes start side by side rather than each waiting for the one before, and
    exits them at once; yields what each yields."""
    with ThreadPoolExecutor(len(processes)) as pool:
        entering = [pool.submit(process.__enter__) for process in processes]
    entered = [process for process, future in zip(processes, entering, strict=True) if future.exception() is None]
    try:
        for future in entering:
            future.result()  # the first that failed to start, raised here once the others are stopped
        yield [future.result() for future in entering]
    finally:
        with ThreadPoolExecutor(len(processes)) as pool:
            leaving = [pool.submit(process.__exit__, None, None, None) for process in entered]
        for future in leaving:
            future.result()


def free_ports(count: int, *, first: int = 18100, last: int = 18199) -> list[int]:
    """`count` ports of 127.0.0.1 that nothing listens on now, from this process's share
    of first..last (tests/support/parallel.py: two processes running the suite side by
    side never pick the same one)."""
    found = []
    for port in ports_of_this_worker(first, last):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free ports in {ports_of_this_worker(first, last)}")

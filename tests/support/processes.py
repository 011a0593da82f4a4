"""Starting the project's real processes (Celery worker, management commands) from tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


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
    return env


@contextmanager
def celery_worker(
    env: dict[str, str], *, queue: str, log: Path, name: str = "test", timeout: float = 60
) -> Iterator[subprocess.Popen]:
    """A real Celery worker consuming `queue`, stopped (by its own PID) afterwards."""
    with log.open("w") as output:
        worker = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "-Q", queue, "-n", f"{name}@%h", "--pool", "solo",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while "ready." not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield worker
    finally:
        stop(worker, timeout=20)


def stop(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """Ends a process a test started, by its own PID: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def enqueue_from_another_process(env: dict[str, str], *, task: str, queue: str, times: int = 1) -> None:
    """Publishes `task` (`times` messages) as a separate web process would, through the broker `env` names."""
    code = (
        "import django; django.setup();"
        "from config.celery import app;"
        f"[app.send_task({task!r}, queue={queue!r}) for _ in range({times})]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, check=True, timeout=60)


def wait_until(condition, *, timeout: float = 60, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()

"""What each of the processes that run the suite side by side keeps to itself.

`make test` runs pytest in two processes (pytest-xdist's `-n 2`). pytest-django gives
each its own test database (`test_<name>_gw0`, `_gw1`); this gives each its own Redis
database and its own share of the ports the tests start servers on, so one process's
Celery workers never take the other's tasks, a rate limit or a `cache.clear()` (a
FLUSHDB on Redis) never reaches the other's keys, and two servers never race for one port.
Run without xdist, there is one process and nothing moves."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def worker_index() -> int:
    """0 for xdist's gw0 (and for a run without xdist), 1 for gw1, …"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker else 0


def worker_count() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def redis_url_of_this_worker(url: str) -> str:
    """`url` with its database number moved up by this process's index: gw0 keeps the
    one it names, gw1 uses the next (with REDIS_URL=redis://…/1, as CI sets it: 1 and 2)."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + worker_index()
    return urlunsplit(parts._replace(path=f"/{database}"))


def give_this_worker_its_redis_database() -> None:
    """Moves REDIS_URL to this xdist worker's database, once: the processes its tests
    start inherit the moved URL (or one a test chose, such as a private redis-server's)
    and import the test settings again, which must leave it as it is. (xdist's main
    process, which imports them too, runs no test and keeps the URL it was given.)"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker and os.environ.get("REDIS_URL") and os.environ.get(_MOVED_FOR) != worker:
        os.environ["REDIS_URL"] = redis_url_of_this_worker(os.environ["REDIS_URL"])
        os.environ[_MOVED_FOR] = worker


_MOVED_FOR = "TESTS_REDIS_URL_MOVED_FOR"


def keep_redis_url_as_given(env: dict[str, str]) -> None:
    """Marks `env`'s REDIS_URL, chosen by a test of this worker, as the one the process
    started with `env` must use: without REDIS_URL in the run, this worker never moved
    one, and the child would move the URL it was given one database further."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:
        env[_MOVED_FOR] = worker


def ports_of_this_worker(first: int, last: int) -> range:
    """This process's equal share of the ports first..last."""
    share = (last - first + 1) // worker_count()
    start = first + worker_index() * share
    return range(start, start + share)

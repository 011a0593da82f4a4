"""`make test` runs the suite in two processes (pytest-xdist): each keeps its own Redis
database and its own ports (tests/support/parallel.py)."""

from __future__ import annotations

import os

from tests.support.parallel import give_this_worker_its_redis_database, ports_of_this_worker


def as_worker(monkeypatch, worker: str | None, count: int = 2) -> None:
    if worker is None:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
        monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    else:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))


def test_each_worker_gets_the_next_redis_database(monkeypatch):
    monkeypatch.delenv("TESTS_REDIS_URL_MOVED_FOR", raising=False)
    for worker, database in (("gw0", 1), ("gw1", 2)):
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/1")
        as_worker(monkeypatch, worker)
        give_this_worker_its_redis_database()
        assert os.environ["REDIS_URL"] == f"redis://127.0.0.1:6379/{database}"


def test_the_main_process_keeps_its_url_and_its_workers_still_move_theirs(monkeypatch):
    """xdist's main process imports the test settings too, before it starts the workers,
    which inherit its environment."""
    monkeypatch.delenv("TESTS_REDIS_URL_MOVED_FOR", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/1")
    as_worker(monkeypatch, None)
    give_this_worker_its_redis_database()
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/1"

    as_worker(monkeypatch, "gw1")
    give_this_worker_its_redis_database()
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/2"


def test_a_process_a_worker_starts_keeps_the_url_it_was_given(monkeypatch):
    """A Celery worker or gunicorn started by a test imports the test settings again,
    with the worker's URL (or a private redis-server's) already in its environment."""
    monkeypatch.delenv("TESTS_REDIS_URL_MOVED_FOR", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/8")
    as_worker(monkeypatch, "gw1")
    give_this_worker_its_redis_database()
    moved = os.environ["REDIS_URL"]
    give_this_worker_its_redis_database()
    assert os.environ["REDIS_URL"] == moved == "redis://127.0.0.1:6379/9"

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:18400/0")
    give_this_worker_its_redis_database()
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:18400/0"


def test_without_xdist_nothing_moves(monkeypatch):
    monkeypatch.delenv("TESTS_REDIS_URL_MOVED_FOR", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/1")
    as_worker(monkeypatch, None)
    give_this_worker_its_redis_database()
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/1"
    assert ports_of_this_worker(18100, 18199) == range(18100, 18200)


def test_the_workers_share_a_port_range_without_overlap(monkeypatch):
    shares = []
    for worker in ("gw0", "gw1"):
        as_worker(monkeypatch, worker)
        shares.append(set(ports_of_this_worker(18100, 18199)))
    assert shares[0].isdisjoint(shares[1])
    assert shares[0] | shares[1] == set(range(18100, 18200))


def test_a_child_given_a_redis_url_keeps_it_when_the_run_had_none(monkeypatch, tmp_path):
    """`make test` without REDIS_URL: require_redis gives gw1 the default URL's next
    database, and a process that worker starts must count, queue and cache in that one
    (a rate limit reached in one process held in another only on gw0)."""
    from tests.support.processes import child_environment

    monkeypatch.delenv("TESTS_REDIS_URL_MOVED_FOR", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    as_worker(monkeypatch, "gw1")
    env = child_environment(var_dir=tmp_path, redis_url="redis://127.0.0.1:6379/1")
    monkeypatch.setattr(os, "environ", env)
    give_this_worker_its_redis_database()  # what the child's test settings do
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/1"

"""`make bench` and `make bench-smoke`: every benchmark, then the one table.

    python -m tests.benchmarks.run            # make bench: full sizes, writes docs/benchmarks.md
    python -m tests.benchmarks.run --smoke    # make bench-smoke: tiny sizes, writes nothing
    python -m tests.benchmarks.run --smoke tests/benchmarks/test_answer_web_bench.py   # some only
                                              # (make bench BENCH=tests/benchmarks/...)

DATABASE_URL and REDIS_URL are used as set. Unset, they point at PostgreSQL and Redis on
127.0.0.1 when those answer (the database `valuepulse_bench` is created if missing, as
.ci/run creates its own); when they do not, they stay unset, and the benchmarks that need
them skip saying how to enable them (under CI=true they fail instead: CI sets both).
Clears var/bench/results, runs `pytest -m bench` over tests/benchmarks, then always
prints the table (tests.benchmarks.report). Each benchmark stops the processes and drops
the databases it started; this removes the request files the web benchmarks wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import psycopg
import redis

from tests.benchmarks import report

DEFAULT_DATABASE = "valuepulse_bench"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DATABASE}"
# A Redis database of the benchmarks' own: the tests use 0 and CI 1.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"


def postgresql_with_bench_database() -> bool:
    """PostgreSQL answers on 127.0.0.1; creates the benchmarks' database if missing."""
    try:
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3,
                             autocommit=True) as server:
            if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEFAULT_DATABASE]).fetchone() is None:
                server.execute(f"CREATE DATABASE {DEFAULT_DATABASE}")
    except psycopg.Error:
        return False
    return True


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def environment(*, smoke: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BENCH_SMOKE", None)
    if smoke:
        env["BENCH_SMOKE"] = "1"
    if not env.get("DATABASE_URL"):
        if postgresql_with_bench_database():
            env["DATABASE_URL"] = DEFAULT_DATABASE_URL
        else:
            print("[bench] No PostgreSQL answers on 127.0.0.1:5432, so this runs on SQLite and the benchmarks "
                  "that need PostgreSQL skip. Start it, or set DATABASE_URL=postgres://…, to run them.")
    if not env.get("REDIS_URL"):
        if redis_answers(DEFAULT_REDIS_URL):
            env["REDIS_URL"] = DEFAULT_REDIS_URL
        else:
            print("[bench] No Redis answers on 127.0.0.1:6379, so the benchmarks that need it skip. Start it "
                  "(`redis-server --daemonize yes --bind 127.0.0.1`), or set REDIS_URL, to run them.")
    return env


def argv_selected(argv: list[str]) -> list[str]:
    return [arg for arg in argv if arg != "--smoke"]


def main(argv: list[str]) -> int:
    smoke = "--smoke" in argv
    selected = argv_selected(argv) or ["tests/benchmarks"]
    command = "make bench-smoke" if smoke else "make bench"
    if argv_selected(argv):
        command += f" BENCH={' '.join(selected)}"
    env = environment(smoke=smoke)
    print(f"[bench] {command}: DATABASE_URL={env.get('DATABASE_URL', '(SQLite)')} "
          f"REDIS_URL={env.get('REDIS_URL', '(embedded broker)')}")
    report.clear()
    python = sys.executable
    tests = subprocess.run([python, "-m", "pytest", "-m", "bench", "-p", "no:cacheprovider", "-s",  # nosec B603
                            *selected], cwd=report.ROOT, env=env)
    table = subprocess.run([python, "-m", "tests.benchmarks.report", command], cwd=report.ROOT, env=env)  # nosec B603
    shutil.rmtree(report.ROOT / "var" / "bench" / "posts", ignore_errors=True)
    return tests.returncode or table.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

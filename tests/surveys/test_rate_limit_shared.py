"""The public pages' rate limit counts in Redis, so it holds across web processes and servers."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from core.ratelimit import WINDOW_SECONDS
from tests.support.processes import PROJECT_DIR, child_environment, free_ports, gunicorn_server, http_get, together
from tests.support.services import require_postgresql, require_redis

Result = TypeVar("Result")


def within_one_window(requests: Callable[[str], Result], new_address: Callable[[], str]) -> Result:
    """What `requests` (made from one client address) returned, all counted in one of the
    limiter's one-minute windows. Counts start afresh with each window, so a try that
    crossed into the next one proves nothing: it is made again from a new address. This
    waits on the clock's window rather than sleeping until one starts, however slow the
    machine makes the requests."""
    for _ in range(3):
        window = int(time.time() // WINDOW_SECONDS)
        result = requests(new_address())
        if int(time.time() // WINDOW_SECONDS) == window:
            return result
    pytest.fail("three tries in a row each crossed the end of a rate-limit window")


@pytest.mark.django_db
def test_a_limit_reached_in_one_process_holds_in_another(client, settings, tmp_path):
    redis_url = require_redis()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.PUBLIC_RATE_LIMIT = 3
    env = child_environment(var_dir=tmp_path, redis_url=redis_url, PUBLIC_RATE_LIMIT="3")

    def three_here_then_one_in_another_process(address: str) -> tuple[list[int], subprocess.CompletedProcess]:
        statuses = [client.get("/s/some-token-of-normal-length/", REMOTE_ADDR=address).status_code for _ in range(3)]
        code = (
            "import django; django.setup();"
            "from django.test import Client;"
            f"print(Client(HTTP_HOST='127.0.0.1').get('/s/some-token-of-normal-length/', REMOTE_ADDR={address!r})"
            ".status_code)"
        )
        other = subprocess.run(
            [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
        )
        return statuses, other

    statuses, other_process = within_one_window(
        three_here_then_one_in_another_process,
        lambda: f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}",
    )
    assert statuses == [404, 404, 404]
    assert other_process.stdout.strip().splitlines()[-1] == "429", other_process.stderr


@pytest.mark.django_db
def test_the_limit_holds_across_two_gunicorn_servers(tmp_path):
    """Two web servers behind one proxy, on PostgreSQL and Redis as in production: a
    client's requests alternate between them and the sixth overall is refused."""
    require_postgresql()
    redis_url = require_redis()
    env = child_environment(var_dir=tmp_path, redis_url=redis_url, PUBLIC_RATE_LIMIT="5", TRUSTED_PROXY_HOPS="1")
    first_port, second_port = free_ports(2)
    with together(  # started side by side
        gunicorn_server(env, port=first_port, log=tmp_path / "first.log"),
        gunicorn_server(env, port=second_port, log=tmp_path / "second.log"),
    ) as (first, second):
        answers = within_one_window(
            lambda client: [
                http_get(f"{server}/s/some-token-of-normal-length/", headers={"X-Forwarded-For": client})
                for server in [first, second] * 3
            ],
            lambda: f"203.0.{random.randrange(256)}.{random.randrange(1, 255)}",
        )
    assert [status for status, _ in answers] == [404] * 5 + [429]
    assert int(answers[-1][1]["Retry-After"]) > 0

"""The public pages' rate limit counts in Redis, so it holds across web processes."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from tests.support.processes import PROJECT_DIR, child_environment
from tests.support.services import require_redis


@pytest.mark.django_db
def test_a_limit_reached_in_one_process_holds_in_another(client, settings, tmp_path):
    redis_url = require_redis()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.PUBLIC_RATE_LIMIT = 3
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"

    statuses = [client.get("/s/some-token-of-normal-length/", REMOTE_ADDR=address).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]

    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        f"print(Client(HTTP_HOST='127.0.0.1').get('/s/some-token-of-normal-length/', REMOTE_ADDR={address!r}).status_code)"
    )
    env = child_environment(var_dir=tmp_path, redis_url=redis_url, PUBLIC_RATE_LIMIT="3")
    other_process = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert other_process.stdout.strip().splitlines()[-1] == "429", other_process.stderr

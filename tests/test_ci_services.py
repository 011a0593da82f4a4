"""Under CI the suite must really run on PostgreSQL and Redis, never quietly on the defaults."""

from __future__ import annotations

import os

import pytest
import redis
from django.db import connection

from tests.conftest import IN_CI

pytestmark = pytest.mark.skipif(not IN_CI, reason="checks CI's own set-up; runs only under CI=true")


@pytest.mark.django_db
def test_ci_runs_the_suite_on_postgresql():
    assert connection.vendor == "postgresql"


def test_ci_runs_with_a_reachable_redis():
    url = os.environ.get("REDIS_URL")
    assert url, "CI must set REDIS_URL"
    assert redis.Redis.from_url(url, socket_connect_timeout=2).ping()

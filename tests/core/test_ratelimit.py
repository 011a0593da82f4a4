"""The per-client counters behind the public pages' and the API's limits."""

from __future__ import annotations

import random

import pytest
import redis
from django.core.cache import caches

from core.ratelimit import count_request
from tests.support.services import require_redis


@pytest.fixture
def redis_cache(settings):
    url = require_redis()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    return redis.Redis.from_url(url)


def a_client() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


class TestCountingInRedis:
    def test_each_request_counts_one_more_in_its_window(self, redis_cache):
        client = a_client()
        assert [count_request(scope="pages", client=client) for _ in range(3)] == [1, 2, 3]

    def test_scopes_and_clients_count_apart(self, redis_cache):
        client = a_client()
        count_request(scope="pages", client=client)
        assert count_request(scope="other", client=client) == 1
        assert count_request(scope="pages", client=a_client()) == 1

    def test_a_window_is_forgotten_two_windows_later(self, redis_cache):
        client = a_client()
        count_request(scope="pages", client=client, window_seconds=60)
        count_request(scope="pages", client=client, window_seconds=60)
        (key,) = redis_cache.keys(f"*ratelimit:pages:{client}:60:*")
        assert 0 < redis_cache.ttl(key) <= 120

    def test_the_cache_reads_the_count_as_the_number_it_is(self, redis_cache):
        client = a_client()
        count_request(scope="pages", client=client)
        count_request(scope="pages", client=client)
        (key,) = redis_cache.keys(f"*ratelimit:pages:{client}:60:*")
        assert caches["default"].get(key.decode().split(":", 2)[2]) == 2

    def test_a_redis_that_forgot_the_counting_script_still_counts(self, redis_cache):
        """Redis forgets its scripts when it restarts; the counter loads it again."""
        client = a_client()
        count_request(scope="pages", client=client)
        redis_cache.script_flush()
        assert count_request(scope="pages", client=client) == 2

    def test_counting_reuses_one_redis_client(self, redis_cache):
        """Building a client cost as much as the round trip (issue 15): one per pool."""
        from core.ratelimit import _redis_client

        client = a_client()
        count_request(scope="pages", client=client)
        built = _redis_client.cache_info().misses
        assert [count_request(scope="pages", client=client) for _ in range(3)] == [2, 3, 4]
        assert _redis_client.cache_info().misses == built


class TestCountingInMemory:
    def test_each_request_counts_one_more_in_its_window(self, settings):
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        client = a_client()
        assert [count_request(scope="pages", client=client) for _ in range(3)] == [1, 2, 3]


def test_an_unreachable_cache_lets_the_request_through(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }
    assert count_request(scope="pages", client=a_client()) == 0

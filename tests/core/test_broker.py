"""Celery's Redis transport as the project configures it (core/broker.py): one Redis
client per channel for publishing, and messages that arrive as kombu's own send them."""

from __future__ import annotations

import uuid

import pytest

from kombu import Connection, Queue

from core.broker import Transport
from tests.support.services import require_redis


def connection_to(url: str) -> Connection:
    return Connection(url, transport=Transport)


class TestPublishing:
    def test_every_message_published_arrives_in_order(self):
        url = require_redis()
        queue = Queue(f"test-broker-{uuid.uuid4().hex}")
        with connection_to(url) as connection:
            producer = connection.Producer()
            for number in range(3):
                producer.publish({"number": number}, routing_key=queue.name, declare=[queue], serializer="json")
            with connection.SimpleQueue(queue) as received:
                bodies = [received.get(timeout=2).payload for _ in range(3)]
                received.queue.delete()
        assert bodies == [{"number": 0}, {"number": 1}, {"number": 2}]

    def test_a_channel_publishes_through_one_client(self):
        url = require_redis()
        with connection_to(url) as connection:
            channel = connection.default_channel
            with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
                assert first is second
                assert first.ping()

    def test_a_new_pool_gets_a_new_client(self):
        """kombu replaces a channel's pool after a fork: the client follows it."""
        url = require_redis()
        with connection_to(url) as connection:
            channel = connection.default_channel
            with channel.conn_or_acquire() as before:
                pass
            channel._after_fork()
            with channel.conn_or_acquire() as after:
                assert after is not before
                assert after.connection_pool is channel.pool
                assert after.ping()

    def test_the_project_publishes_through_it_on_redis(self, settings):
        from config.celery import app

        if not settings.REDIS_URL:
            pytest.skip("this run uses the embedded broker (REDIS_URL unset)")
        with app.connection_for_write() as connection:
            assert isinstance(connection.transport, Transport)


class TestPublishingATask:
    """core.queue publishes through broker.publish_task instead of Task.apply_async (issue
    15): the message a worker receives must be the one apply_async sends."""

    @pytest.fixture
    def published(self, settings):
        """The raw messages published while the test runs, on a queue of its own."""
        import json

        import redis
        from config.celery import app

        if not settings.REDIS_URL:
            pytest.skip("this run uses the embedded broker (REDIS_URL unset)")
        queue = f"test-publish-{uuid.uuid4().hex}"
        eager, default_queue = app.conf.task_always_eager, app.conf.task_default_queue
        app.conf.task_always_eager, app.conf.task_default_queue = False, queue
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            yield lambda: [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = eager, default_queue
            client.delete(queue)

    def test_a_task_published_directly_carries_what_apply_async_would_send(self, published):
        from core import broker
        from insights.tasks import evaluate_response

        evaluate_response.apply_async(args=(7,), countdown=61)
        broker.publish_task(evaluate_response, (7,), {}, countdown=61)

        by_celery, direct = published()
        assert decoded_body(direct) == decoded_body(by_celery) == [[7], {}, ANY_EMBED]
        differing = {"id", "root_id", "eta", "correlation_id", "delivery_tag", "body"}
        assert without(direct, differing) == without(by_celery, differing)
        assert direct["headers"]["root_id"] == direct["headers"]["id"] == direct["properties"]["correlation_id"]
        assert direct["headers"]["eta"] >= by_celery["headers"]["eta"]

    def test_the_project_publishes_directly_unless_tasks_run_eagerly(self, settings):
        from config.celery import app
        from core import broker
        from insights.tasks import evaluate_response

        eager = app.conf.task_always_eager
        try:
            app.conf.task_always_eager = True
            assert not broker.publishes_directly(evaluate_response)
            app.conf.task_always_eager = False
            assert broker.publishes_directly(evaluate_response)
        finally:
            app.conf.task_always_eager = eager


ANY_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def decoded_body(message: dict) -> list:
    import base64
    import json

    return json.loads(base64.b64decode(message["body"]))


def without(message: dict, keys: set[str]) -> dict:
    """`message` with `keys` left out at any depth."""
    return {key: without(value, keys) if isinstance(value, dict) else value
            for key, value in message.items() if key not in keys}

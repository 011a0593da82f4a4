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

"""Celery's Redis transport, publishing through one Redis client per channel.

kombu's Redis channel builds a new `redis.Redis` for every message it publishes
(`Channel.conn_or_acquire`); the client holds no connection of its own (each command
borrows one from the channel's pool), but building it fills a table of some 170
response callbacks, about a third of what a publish costs in Python (issue 15: the
answer POST publishes its quiet-period evaluation). This channel keeps the one it
built for as long as its pool stands; kombu replaces the pool after a fork or a lost
connection, and then a new client is built for the new pool."""

from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import redis


class Channel(redis.Channel):
    _publishing_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        if self._publishing_client is None or self._publishing_client.connection_pool is not pool:
            self._publishing_client = self._create_client()
        yield self._publishing_client


class Transport(redis.Transport):
    Channel = Channel

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
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from celery import Task
from celery.utils import uuid
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


def publish_task(task: Task, args: tuple, kwargs: dict, *, countdown: float | None = None) -> None:
    """Publishes `task` as Task.apply_async does, for this project's tasks, at about two
    thirds of its cost in Python (issue 15: every answer publishes its quiet-period
    evaluation).

    The message is Celery's own (protocol 2, from the app's `create_task_message`, with
    the task's options), published through a kombu Producer from the app's pool with the
    app's publish retry policy, to the queue Celery's router names for the task: what a
    worker receives is what apply_async would have sent (tests/core/test_broker.py).
    What apply_async adds, and this leaves out, is per-call work that changes nothing
    here: merging options the project never passes, and routing and reading the settings
    again on every call (done once per task and default queue); the queue's declaration
    (kept by kombu after the first anyway, and workers declare their queues); Celery's
    before/after publish signals (their one receiver, beat's heartbeat, acts only in
    beat, which publishes through Celery). Tasks run eagerly and tasks published from
    inside a worker's task go through apply_async (see `publishes_directly`)."""
    app = task.app
    plan = _plan(app, task.name, app.conf.task_default_queue)
    now = datetime.now(UTC)
    headers, properties, body, _ = app.amqp.create_task_message(
        uuid(),
        plan.name,
        args,
        kwargs,
        countdown,
        ignore_result=plan.ignore_result,
        reply_to=app.thread_oid,
        time_limit=plan.time_limit,
        soft_time_limit=plan.soft_time_limit,
        now=now,
        timezone=UTC,
    )
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange=plan.exchange,
            routing_key=plan.routing_key,
            serializer=plan.serializer,
            delivery_mode=plan.delivery_mode,
            headers=headers,
            retry=plan.retry,
            retry_policy=plan.retry_policy,
            **properties,
        )


def publishes_directly(task: Task) -> bool:
    """Whether `publish_task` may send `task`: not run eagerly (the tests), not from
    inside a worker's task (apply_async links a child to its parent there)."""
    app = task.app
    return not app.conf.task_always_eager and app.current_worker_task is None


@dataclass(frozen=True)
class _Plan:
    """What apply_async works out for every message of one task, worked out once."""

    name: str
    exchange: str
    routing_key: str
    delivery_mode: str | int
    serializer: str
    ignore_result: bool
    time_limit: float | None
    soft_time_limit: float | None
    retry: bool
    retry_policy: dict


@cache
def _plan(app, name: str, default_queue: str) -> _Plan:
    """`name`'s plan while the default queue is `default_queue`. A direct exchange is
    Celery's anonymous one, keyed by the queue's name (as amqp.send_task_message does)."""
    task = app.tasks[name]
    queue = app.amqp.router.route({}, name, (), {}, task).get("queue") or app.amqp.default_queue
    direct = queue.exchange.type == "direct"
    return _Plan(
        name=name,
        exchange="" if direct else queue.exchange.name,
        routing_key=queue.name if direct else queue.routing_key,
        delivery_mode=queue.exchange.delivery_mode or app.conf.task_default_delivery_mode,
        serializer=task.serializer or app.conf.task_serializer,
        ignore_result=task.ignore_result,
        time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit,
        retry=app.conf.task_publish_retry,
        retry_policy=dict(app.conf.task_publish_retry_policy),
    )

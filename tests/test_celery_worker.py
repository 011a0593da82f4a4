"""A real Celery worker runs a real task: through the embedded broker, and through Redis."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.utils import timezone

from customers.models import Customer
from tests.conftest import require_service
from tests.factories import CustomerFactory, InvoiceFactory
from tests.support.processes import celery_worker, child_environment, enqueue_from_another_process, wait_until

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def customers_waiting_for_tiers() -> list[Customer]:
    today = timezone.localdate()
    customers = CustomerFactory.create_batch(3)
    for amount, customer in zip((700, 200, 100), customers):
        InvoiceFactory(customer=customer, amount=Decimal(amount), issued_on=today - timedelta(days=10))
    return customers


def tiers_of(customers: list[Customer]) -> list[int | None]:
    by_pk = dict(Customer.objects.values_list("pk", "tier"))
    return [by_pk[customer.pk] for customer in customers]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_a_real_worker_recomputes_tiers_sent_through_the_broker(broker, tmp_path):
    redis_url = None
    if broker == "redis":
        redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        require_service(
            redis_reachable(redis_url),
            f"Redis at {redis_url}",
            "Start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379` or set REDIS_URL.",
        )
    customers = customers_waiting_for_tiers()
    env = child_environment(var_dir=tmp_path, redis_url=redis_url)
    queue = f"test-{uuid.uuid4().hex}"

    with celery_worker(env, queue=queue, log=tmp_path / "worker.log"):
        enqueue_from_another_process(env, task="customers.tasks.recompute_value_metrics", queue=queue)
        done = wait_until(lambda: None not in tiers_of(customers), timeout=60)

    assert done, (tmp_path / "worker.log").read_text()
    assert tiers_of(customers) == [1, 2, 3]
    assert "customers.tasks.recompute_value_metrics" in (tmp_path / "worker.log").read_text()

"""A real Celery worker runs a real task: through the embedded broker, and through Redis."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from tests.factories import CustomerFactory, InvoiceFactory
from tests.support.processes import celery_worker, child_environment, enqueue_from_another_process, wait_until
from tests.support.services import require_redis


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
    redis_url = require_redis() if broker == "redis" else None
    customers = customers_waiting_for_tiers()
    env = child_environment(var_dir=tmp_path, redis_url=redis_url)
    queue = f"test-{uuid.uuid4().hex}"

    with celery_worker(env, queue=queue, log=tmp_path / "worker.log"):
        enqueue_from_another_process(env, task="customers.tasks.recompute_value_metrics", queue=queue)
        done = wait_until(lambda: None not in tiers_of(customers), timeout=60)

    assert done, (tmp_path / "worker.log").read_text()
    assert tiers_of(customers) == [1, 2, 3]
    assert "customers.tasks.recompute_value_metrics" in (tmp_path / "worker.log").read_text()

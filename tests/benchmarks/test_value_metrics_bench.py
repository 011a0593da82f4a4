"""`make bench`: value metrics and tiers for 50,000 customers with 500,000 invoices."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer, Invoice
from customers.services import recompute_value_metrics

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

CUSTOMERS = 50_000
INVOICES_PER_CUSTOMER = 10
AS_OF = date(2026, 6, 15)


def create_portfolio(rng: random.Random) -> None:
    Customer.objects.bulk_create(
        [Customer(external_id=f"B-{n:06d}", name=f"Bench customer {n}",
                  cost_to_serve=Decimal(rng.randint(0, 5000))) for n in range(CUSTOMERS)],
        batch_size=5000,
    )
    batch: list[Invoice] = []
    for customer_id in Customer.objects.values_list("pk", flat=True):
        scale = rng.paretovariate(1.16) * 100
        for number in range(INVOICES_PER_CUSTOMER):
            issued = AS_OF - timedelta(days=rng.randint(0, 700))
            due = issued + timedelta(days=30)
            paid = None if rng.random() < 0.1 else due + timedelta(days=rng.randint(-10, 40))
            batch.append(Invoice(customer_id=customer_id, number=f"I-{number}", issued_on=issued,
                                 due_on=due, paid_on=paid, amount=Decimal(f"{scale:.2f}")))
        if len(batch) >= 20_000:
            Invoice.objects.bulk_create(batch)
            batch.clear()
    Invoice.objects.bulk_create(batch)


def test_value_metrics_for_fifty_thousand_customers(django_assert_max_num_queries):
    create_portfolio(random.Random(1))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        with django_assert_max_num_queries(6):
            recompute_value_metrics(as_of=AS_OF)
        timings.append(time.perf_counter() - started)
    print(
        f"\n[bench] recompute_value_metrics on {connection.vendor}: {CUSTOMERS:,} customers, "
        f"{CUSTOMERS * INVOICES_PER_CUSTOMER:,} invoices: best {min(timings):.2f}s, "
        f"runs {', '.join(f'{t:.2f}s' for t in timings)}"
    )
    assert Customer.objects.filter(tier__isnull=True).count() == 0

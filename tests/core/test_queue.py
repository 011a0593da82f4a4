"""A broker that is down delays background work; it never fails or hangs the caller."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.test_settings import UNSET
from tests.support.processes import PROJECT_DIR

PUBLISH_WITH_THE_BROKER_DOWN = """
import django; django.setup()
from django.db import transaction
from core.queue import enqueue_on_commit
from customers.tasks import recompute_value_metrics
with transaction.atomic():
    enqueue_on_commit(recompute_value_metrics)
print("request finished")
"""


def test_publishing_with_the_broker_down_logs_and_returns_quickly(tmp_path):
    import os

    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    # Port 1 on loopback: nothing listens, the connection is refused.
    env.update(VALUEPULSE_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_WITH_THE_BROKER_DOWN],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "request finished" in result.stdout
    assert "Could not enqueue customers.tasks.recompute_value_metrics" in result.stderr
    assert elapsed < 30, f"publishing with the broker down took {elapsed:.1f}s"


class TestOncePerTransaction:
    def test_the_same_task_asked_for_twice_in_one_transaction_is_published_once(
        self, db, django_capture_on_commit_callbacks
    ):
        from django.db import transaction

        from core.queue import enqueue_on_commit
        from customers.tasks import recompute_value_metrics

        with django_capture_on_commit_callbacks() as callbacks:
            with transaction.atomic():
                enqueue_on_commit(recompute_value_metrics)
                enqueue_on_commit(recompute_value_metrics)
        assert len(callbacks) == 1

    def test_a_rolled_back_request_does_not_swallow_a_later_one(self, db, django_capture_on_commit_callbacks):
        from django.db import transaction

        from core.queue import enqueue_on_commit
        from customers.tasks import recompute_value_metrics

        with django_capture_on_commit_callbacks() as callbacks:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        enqueue_on_commit(recompute_value_metrics)
                        raise RuntimeError("rolled back")
                except RuntimeError:
                    pass
                enqueue_on_commit(recompute_value_metrics)
        assert len(callbacks) == 1


class TestEnqueueByName:
    def test_a_task_named_by_a_service_runs_like_the_task_itself(self, db, django_capture_on_commit_callbacks):
        from decimal import Decimal

        from django.db import transaction

        from core.queue import enqueue_on_commit
        from customers.models import Customer
        from tests.factories import CustomerFactory, InvoiceFactory

        customer = CustomerFactory()
        InvoiceFactory(customer=customer, amount=Decimal("100"))
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                enqueue_on_commit("customers.tasks.recompute_value_metrics")
        assert Customer.objects.get().tier == 1

    def test_a_task_and_its_name_count_as_one_request(self, db, django_capture_on_commit_callbacks):
        from django.db import transaction

        from core.queue import enqueue_on_commit
        from customers.tasks import recompute_value_metrics

        with django_capture_on_commit_callbacks() as callbacks:
            with transaction.atomic():
                enqueue_on_commit(recompute_value_metrics)
                enqueue_on_commit("customers.tasks.recompute_value_metrics")
        assert len(callbacks) == 1

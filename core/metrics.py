"""Metrics for Prometheus at /metrics (core.views.metrics).

Two kinds of figure:
- what each web process sees (requests and their latency by view), counted in memory
  by RequestMetricsMiddleware, or in files that every gunicorn worker shares when
  PROMETHEUS_MULTIPROC_DIR names a directory (prometheus_client's multiprocess mode);
- what the database knows (the outbox's depth and age, messages sent and failed by
  kind, task runs and failures that the workers tally, and what other apps add with
  `add_collector`), read at scrape time, so every web process tells the same story
  however many workers there are.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric

from .models import OutgoingMessage, TaskTally
from .ratelimit import client_address

REQUESTS = Counter(
    "valuepulse_http_requests", "HTTP requests answered, by view, method and status", ["view", "method", "status"]
)
LATENCY = Histogram("valuepulse_http_request_duration_seconds", "Time to answer a request, by view", ["view"])

MetricsCollector = Callable[[], Iterable[Metric]]
_COLLECTORS: list[MetricsCollector] = []


def add_collector(collector: MetricsCollector) -> None:
    """An app's figures, read from the database at each scrape (insights: alerts)."""
    if collector not in _COLLECTORS:
        _COLLECTORS.append(collector)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The view's name, never the path: the labels stay few however many URLs exist.
        view = (match.view_name or match._func_path) if match else "<unmatched>"
        REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        return response


def outbox_metrics() -> Iterable[Metric]:
    now = timezone.now()
    Status = OutgoingMessage.Status
    by_kind = OutgoingMessage.objects.values("kind").annotate(
        waiting=Count("pk", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
        oldest_due=Min("next_attempt_at", filter=Q(status=Status.QUEUED, next_attempt_at__lte=now)),
    ).order_by("kind")
    depth = GaugeMetricFamily("valuepulse_outbox_depth", "Messages queued or being sent, by kind", labels=["kind"])
    age = GaugeMetricFamily(
        "valuepulse_outbox_oldest_due_age_seconds", "How long the oldest due message has waited, by kind",
        labels=["kind"],
    )
    for row in by_kind:
        depth.add_metric([row["kind"]], row["waiting"])
        age.add_metric([row["kind"]], (now - row["oldest_due"]).total_seconds() if row["oldest_due"] else 0)
    outcomes = GaugeMetricFamily(
        "valuepulse_outbox_messages",
        "Messages by kind and status: sent, failed (given up), bounced, suppressed, queued, sending",
        labels=["kind", "status"],
    )
    for row in OutgoingMessage.objects.values("kind", "status").annotate(n=Count("pk")).order_by("kind", "status"):
        outcomes.add_metric([row["kind"], row["status"]], row["n"])
    return [depth, age, outcomes]


def task_metrics() -> Iterable[Metric]:
    runs = CounterMetricFamily("valuepulse_task_runs", "Celery task runs counted by the workers", labels=["task"])
    failures = CounterMetricFamily("valuepulse_task_failures", "Celery task runs that failed", labels=["task"])
    for tally in TaskTally.objects.order_by("task"):
        runs.add_metric([tally.task], tally.runs)
        failures.add_metric([tally.task], tally.failures)
    return [runs, failures]


class _DatabaseCollector:
    def collect(self) -> Iterable[Metric]:
        for collector in [outbox_metrics, task_metrics, *_COLLECTORS]:
            yield from collector()


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(_DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)


def may_read(request: HttpRequest) -> bool:
    """Metrics (and the health checks' details) are for the monitoring: a request from
    METRICS_ALLOWED_ADDRESSES, or one bearing METRICS_TOKEN."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(allowed, strict=False) for allowed in settings.METRICS_ALLOWED_ADDRESSES)

"""Insights' figures for /metrics (core.metrics), read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, F, Q
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from .models import Alert

# Seconds from the customer's first answer to its alert (the quiet period comes first).
LATENCY_BUCKETS = (60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)


def alert_metrics() -> Iterable[Metric]:
    raised = CounterMetricFamily("valuepulse_alerts_raised", "Alerts raised, by kind", labels=["kind"])
    for row in Alert.objects.values("kind").annotate(n=Count("pk")).order_by("kind"):
        raised.add_metric([row["kind"]], row["n"])
    answered = Alert.objects.filter(response__isnull=False)
    counts = answered.aggregate(
        total=Count("pk"),
        **{
            str(bound): Count(
                "pk", filter=Q(created_at__lte=F("response__first_submitted_at") + timedelta(seconds=bound))
            )
            for bound in LATENCY_BUCKETS
        },
    )
    latency = HistogramMetricFamily(
        "valuepulse_answer_to_alert_seconds",
        "Time from a customer's first answer to the alert it raised (buckets only)",
    )
    latency.add_metric(
        [], [(str(float(bound)), counts[str(bound)]) for bound in LATENCY_BUCKETS] + [("+Inf", counts["total"])], None
    )
    return [raised, latency]

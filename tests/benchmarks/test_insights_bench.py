"""`make bench`: the insights page, the summary API and the exports over 1,000,000
answers from 50,000 customers (PostgreSQL; see tests/benchmarks/insights_data.py).

Prints the best of a few warm runs of each; asserts only that the query counts stay
what the small tests pin, whatever the data size."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from insights.dashboard import counts
from insights.models import AnswerCount
from tests.benchmarks.insights_data import create_insights_portfolio
from tests.factories import StaffFactory
from tests.support.services import require_postgresql

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

RUNS = 3
PAGE = reverse("insights:insights")
SUMMARY = "/api/v1/insights/summary/"


def best_of(label: str, request: Callable[[], object]) -> None:
    request()  # warm: caches, the first connection
    timings, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = request()
            timings.append(time.perf_counter() - started)
        queries = len(captured)
        assert response.status_code == 200, response.content[:500]
    print(f"[bench] {label}: best {min(timings) * 1000:.0f} ms "
          f"(runs {', '.join(f'{t * 1000:.0f}' for t in timings)} ms), {queries} queries")


def peak_memory_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def reset_peak_memory() -> int:
    """Resets the process's peak resident memory (Linux), so what follows is measured
    alone; returns the memory in use now, in kB."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return peak_memory_kb()


def test_insights_over_a_million_answers():
    require_postgresql()
    today = timezone.localdate()
    started = time.perf_counter()
    create_insights_portfolio(today=today)
    print(f"\n[bench] portfolio of 50,000 customers and 1,000,000 answers: {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    state = counts.rebuild()
    print(f"[bench] answer counts of the days before {state.settled_before}: {AnswerCount.objects.count():,} rows "
          f"in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a real database
    started = time.perf_counter()
    assert not counts.refresh()
    print(f"[bench] the five-minute check that the counts are current: {(time.perf_counter() - started) * 1000:.0f} ms")

    staff = StaffFactory(username="bench.staff")
    client = Client()
    client.force_login(staff)
    year = {"from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat()}
    variants = {
        "last 90 days (the default)": {},
        "last 12 months": year,
        "last 90 days, tier 1": {"tier": "1"},
        "last 90 days, one account manager": {"account_manager": "bench.manager.3"},
        "last 12 months, NPS survey": {**year, "survey": "bench-nps"},
    }
    for label, query in variants.items():
        best_of(f"page, {label}", lambda: client.get(PAGE, query))
    best_of("page update with htmx, last 12 months", lambda: client.get(PAGE, year, headers={"HX-Request": "true"}))
    best_of("quadrant list (grow), first page", lambda: client.get(reverse("insights:quadrant", args=["grow"])))

    token = AuthToken.objects.create(staff)[1]
    api = Client(headers={"Authorization": f"Token {token}"})
    best_of("summary API, last 90 days", lambda: api.get(SUMMARY))
    best_of("summary API, last 12 months", lambda: api.get(SUMMARY, year))

    two_years = {"from": (today - timedelta(days=730)).isoformat(), "to": today.isoformat()}
    rss_before = reset_peak_memory()
    started = time.perf_counter()
    response = client.get(reverse("insights:export-responses"), two_years)
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    grown = (peak_memory_kb() - rss_before) / 1024
    print(f"[bench] responses export, two years: {rows - 1:,} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s "
          f"({(rows - 1) / elapsed:,.0f} rows/s); peak memory grew {grown:.0f} MB")
    assert rows - 1 >= 990_000

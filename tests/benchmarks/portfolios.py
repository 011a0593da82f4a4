"""Two portfolios side by side, for the figures that must stay flat in data size: the
same 50,000 customers with 10,000 answers in one database and 1,000,000 in another.

Each portfolio is its own PostgreSQL database, cloned from the test database (so it is
migrated and holds what the migrations create), filled by insights_data, counted and
analysed; the test's connection is pointed at one or the other between requests, so the
very same request (same URL, same user, same filters) runs against each in turn. Both
databases are dropped afterwards, and the connection pointed back at the test database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from customers.models import Customer
from insights.alerts.queries import AlertFilters, alert_queue
from insights.dashboard import counts, rollups
from insights.models import Alert
from tests.benchmarks.insights_data import create_insights_portfolio
from tests.factories import AlertFactory, StaffFactory

DEFAULT_ALIAS = "default"


@dataclass
class Portfolio:
    """One filled database, and the clients that read it (their sessions live in it)."""

    label: str
    database: str
    answers: int
    customers: int
    staff: Client = field(default_factory=Client)
    api: Client | None = None
    manager: Client = field(default_factory=Client)
    manager_username: str = "bench.manager.1"
    top_customer_id: int = 0
    top_alert_id: int = 0
    manager_queue: int = 0  # alerts still being worked in the manager's queue
    generated_seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)


def _admin_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname="postgres", user=settings["USER"] or None, password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None, port=settings["PORT"] or None, autocommit=True,
    )


def use_database(name: str) -> None:
    """Points the default connection at database `name` (reconnecting on next use)."""
    wrapper = connections[DEFAULT_ALIAS]
    wrapper.close()
    wrapper.settings_dict["NAME"] = name


def _clone(template: str, name: str) -> None:
    quoted, source = psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
    with _admin_connection() as admin:
        admin.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(quoted))
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(quoted, source))


def _drop(name: str) -> None:
    with _admin_connection() as admin:
        admin.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


def _vacuum() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _fill(portfolio: Portfolio) -> None:
    started = time.perf_counter()
    steps = {
        "generated": lambda: create_insights_portfolio(
            customers=portfolio.customers, responses=portfolio.answers, today=timezone.localdate()
        ),
        "latest answers": rollups.rebuild,
        "counts": counts.rebuild,
        # What autovacuum does to a real database: statistics, and the visibility map
        # that lets PostgreSQL read an index alone.
        "vacuumed": _vacuum,
    }
    for step, run in steps.items():
        begun = time.perf_counter()
        run()
        portfolio.steps[step] = time.perf_counter() - begun
    portfolio.generated_seconds = time.perf_counter() - started
    staff = StaffFactory(username="bench.staff")
    portfolio.staff.force_login(staff)
    portfolio.api = Client(headers={"Authorization": f"Token {AuthToken.objects.create(staff)[1]}"})
    manager = get_user_model().objects.get(username=portfolio.manager_username)
    portfolio.manager.force_login(manager)
    portfolio.manager_queue = alert_queue(user=manager, filters=AlertFilters()).count()
    top = Customer.objects.order_by("-revenue_12m", "pk").first()
    portfolio.top_customer_id = top.pk
    alert = Alert.objects.order_by("-customer__revenue_12m", "-created_at", "pk").first()
    portfolio.top_alert_id = (alert or AlertFactory(customer=top)).pk  # a tiny portfolio may have none


@contextmanager
def two_portfolios(*, customers: int, small: int, large: int) -> Iterator[tuple[Portfolio, Portfolio]]:
    """The small and the large portfolio, filled; the test database again afterwards."""
    test_database = connection.settings_dict["NAME"]
    base = test_database.removeprefix("test_")
    made = [Portfolio("small", f"{base}_bench_small", small, customers),
            Portfolio("large", f"{base}_bench_large", large, customers)]
    connection.close()
    try:
        for portfolio in made:
            _clone(test_database, portfolio.database)
            use_database(portfolio.database)
            _fill(portfolio)
            print(f"\n[bench] {portfolio.label} portfolio: {portfolio.customers:,} customers, "
                  f"{portfolio.answers:,} answers, made in {portfolio.generated_seconds:.0f} s ("
                  + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in portfolio.steps.items()) + ")")
        yield made[0], made[1]
    finally:
        use_database(test_database)
        for portfolio in made:
            _drop(portfolio.database)


def interleaved(portfolios: tuple[Portfolio, ...], rounds: int, measure: Callable[[Portfolio], None]) -> None:
    """Runs `measure` on each portfolio in turn, `rounds` times (A, B, A, B, ...), so
    that the machine's noise falls on both alike."""
    for _ in range(rounds):
        for portfolio in portfolios:
            use_database(portfolio.database)
            measure(portfolio)

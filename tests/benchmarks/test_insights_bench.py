"""`make bench`: P3 (the insights page and summary API) and P8 (the pages an account
manager and staff use), each request on a portfolio of 1,000,000 answers against the
same request on one of 10,000 answers, side by side.

The comparison: two PostgreSQL databases made by tests/benchmarks/portfolios.py, the
same 50,000 customers (same seed, same revenue, tiers and managers) with 10,000 answers
in one and 1,000,000 in the other, over the same two years. What grows is the answers
(and the deliveries, invitations and alerts that go with them), which is what grows
with time in a real installation; the customers are the same, so "flat in data size"
means flat in answers. Each round runs every request once on the small portfolio,
then once on the large (A, B, A, B...); a figure is the median of the rounds with its
min–max, and the ratio large / small is what the targets judge.

P3 also times each of the summary's reads against a hand-written SQL statement that
gives the same result from the same tables: the statements the ORM wrote, sent as they
are, against the hand-written one, interleaved (that ratio is judged), with the whole
call, the ORM building the query, beside it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insights.dashboard import figures
from tests.benchmarks import report
from tests.benchmarks.portfolios import Portfolio, interleaved, two_portfolios, use_database
from tests.support.services import require_postgresql

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

CUSTOMERS = report.size(50_000, 200)
SMALL_ANSWERS = report.size(10_000, 100)
LARGE_ANSWERS = report.size(1_000_000, 2_000)
ROUNDS = report.size(4, 2)
QUERY_ROUNDS = report.size(11, 2)
FLAT = 1.5  # P3 and P8: the large portfolio's request at most 1.5× the small one's
AS_FAST_AS_SQL = 1.2  # P3: each query at most 1.2× its hand-written SQL
SUMMARY = "/api/v1/insights/summary/"


@dataclass
class Timed:
    """One request's figures on one portfolio, over the rounds."""

    milliseconds: list[float] = field(default_factory=list)
    queries: int = 0
    sql_milliseconds: list[float] = field(default_factory=list)


Request = Callable[[Portfolio], object]


def _year() -> dict[str, str]:
    today = timezone.localdate()
    return {"from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat()}


def p3_requests() -> dict[str, Request]:
    year = _year()
    one_survey = {**year, "survey": "bench-nps"}
    one_manager = {**year, "account_manager": "bench.manager.3"}
    return {
        "insights page, last 90 days (default)": lambda p: p.staff.get("/insights/"),
        "insights page, last 12 months": lambda p: p.staff.get("/insights/", year),
        "insights page, 12 months, one survey": lambda p: p.staff.get("/insights/", one_survey),
        "insights page, 12 months, one manager": lambda p: p.staff.get("/insights/", one_manager),
        "summary API, last 90 days (default)": lambda p: p.api.get(SUMMARY),
        "summary API, last 12 months": lambda p: p.api.get(SUMMARY, year),
        "summary API, 12 months, one survey": lambda p: p.api.get(SUMMARY, one_survey),
        "summary API, 12 months, one manager": lambda p: p.api.get(SUMMARY, one_manager),
    }


def p8_requests() -> dict[str, Request]:
    htmx = {"HX-Request": "true"}
    return {
        "alert queue, an account manager's": lambda p: p.manager.get("/alerts/"),
        "alert queue, staff (everyone's)": lambda p: p.staff.get("/alerts/"),
        "alert page (the most valuable customer's latest alert)": lambda p: p.staff.get(f"/alerts/{p.top_alert_id}/"),
        "customer page (the most valuable customer)": lambda p: p.staff.get(f"/customers/{p.top_customer_id}/"),
        "customer timeline (the customer page's section, first page)": lambda p: p.staff.get(
            f"/customers/{p.top_customer_id}/timeline/", headers=htmx
        ),
    }


def measure_requests(small: Portfolio, large: Portfolio, requests: dict[str, Request]) -> dict[str, dict[str, Timed]]:
    timed = {name: {small.label: Timed(), large.label: Timed()} for name in requests}

    def one_round(portfolio: Portfolio) -> None:
        for name, request in requests.items():
            request(portfolio)  # warm: the connection just reopened, the plan caches
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = request(portfolio)
                elapsed = time.perf_counter() - started
            assert response.status_code == 200, (name, portfolio.label, response.content[:300])
            figure = timed[name][portfolio.label]
            figure.milliseconds.append(elapsed * 1000)
            figure.queries = len(captured)
            figure.sql_milliseconds.append(sum(float(query["time"]) for query in captured) * 1000)

    interleaved((small, large), ROUNDS, one_round)
    return timed


def ratios(timed: dict[str, dict[str, Timed]]) -> dict[str, float]:
    return {
        name: statistics.median(both["large"].milliseconds) / statistics.median(both["small"].milliseconds)
        for name, both in timed.items()
    }


def request_details(timed: dict[str, dict[str, Timed]]) -> list[str]:
    lines = []
    for name, both in timed.items():
        small, large = both["small"], both["large"]
        ratio = statistics.median(large.milliseconds) / statistics.median(small.milliseconds)
        lines.append(
            f"{name}: 1M answers {report.Spread.of(large.milliseconds).text(' ms', 1)}, {large.queries} queries "
            f"(SQL {statistics.median(large.sql_milliseconds):.1f} ms); 10k answers "
            f"{report.Spread.of(small.milliseconds).text(' ms', 1)}, {small.queries} queries "
            f"(SQL {statistics.median(small.sql_milliseconds):.1f} ms); ratio {ratio:.2f}"
        )
    return lines


# --- P3: each of the summary's queries against hand-written SQL of the same result


def hand_written(filters: figures.InsightFilters) -> dict[str, tuple[Callable[[], object], str, dict]]:
    """(the product's read, the hand-written SQL, its parameters) for the summary's
    reads over the whole portfolio, as a staff member sees them."""
    from insights.dashboard import counts

    state = counts.state()
    settled = state.settled_before
    params = {
        "from": filters.date_from, "to": filters.date_to, "last_settled": settled - timedelta(days=1),
        "start": filters.start, "end": filters.end,
        "risk": filters.end - figures.REVENUE_AT_RISK_WINDOW, "settled_from": min(filters.start, filters.end - figures.REVENUE_AT_RISK_WINDOW),
        "now": timezone.now(), "tz": timezone.get_current_timezone_name(),
    }
    counted_before = counts.invitations_counted_before(state)
    params["counted_before"] = counted_before
    window = timezone.localtime(filters.end - figures.REVENUE_AT_RISK_WINDOW).date()
    for name, day in (("period", filters.date_from), ("window", window)):
        params.update({name: day, f"{name}_month": counts.month_start(day), f"{name}_month_end": counts.month_end(day)})
    # LatestAnswerCount's rows counting the latest answers from a day on: the rest of its month's days, the months after.
    since = "((span = 'day' AND start >= %({0})s AND start <= %({0}_month_end)s) OR (span = 'month' AND start > %({0}_month)s))"
    in_period, in_window = since.format("period"), since.format("window")
    params["sent_since"] = max(filters.start, counts.midnight(counted_before))
    # The settled days as the fewest rows read them: whole months, week parts, the days at the ends.
    covered = counts.cover(filters.date_from, min(filters.date_to, settled - timedelta(days=1)), months=True)
    params.update(months=covered.months, week_parts=covered.week_parts, days=covered.days, settled=settled)
    return {
        "answer counts, settled days (AnswerCount)": (
            lambda: list(figures.settled_counts(filters, last_day=settled - timedelta(days=1), by=figures.BREAKDOWNS)),
            "SELECT tier, account_manager_id, survey_id, band, SUM(answers) "
            "FROM insights_answercount WHERE day >= %(from)s AND day <= LEAST(%(to)s, %(last_settled)s) "
            "GROUP BY 1, 2, 3, 4",
            params,
        ),
        "answer counts, days after (RecentAnswerCount)": (
            lambda: list(figures.recent_counts(filters, first_day=settled, by=figures.BREAKDOWNS)),
            "SELECT tier_key, manager_key, survey_id, band, SUM(answers) "
            "FROM insights_recentanswercount WHERE day >= GREATEST(%(from)s, %(last_settled)s + 1) AND day <= %(to)s "
            "GROUP BY 1, 2, 3, 4",
            params,
        ),
        "response rate, counted days (SpanInvitationCount, InvitationCount)": (
            lambda: figures.invitations_counted(filters, settled_before=settled, before=counted_before),
            "SELECT SUM(sent), SUM(answered) FROM insights_spaninvitationcount "
            "WHERE (span = 'month' AND start = ANY(%(months)s)) OR (span = 'week_part' AND start = ANY(%(week_parts)s)) "
            "UNION ALL SELECT SUM(sent), SUM(answered) FROM insights_invitationcount "
            "WHERE day = ANY(%(days)s) OR (day >= GREATEST(%(from)s, %(settled)s) AND day < %(counted_before)s)",
            params,
        ),
        "response rate, invitations sent since": (
            lambda: figures.invitations_sent(filters, since=params["sent_since"]),
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'responded') FROM surveys_invitation "
            "WHERE sent_at >= %(sent_since)s AND sent_at < %(end)s",
            params,
        ),
        "customers by latest answer (LatestAnswerCount)": (
            lambda: figures._latest_from_rollup(filters),
            f"SELECT tier_key, band, SUM(customers) FILTER (WHERE {in_period}), SUM(revenue) FILTER (WHERE {in_period}), "
            f"SUM(customers) FILTER (WHERE {in_window}), SUM(revenue) FILTER (WHERE {in_window}) "
            f"FROM insights_latestanswercount WHERE survey_key = 0 AND ({in_period} OR {in_window}) GROUP BY 1, 2",
            params,
        ),
        "alerts being worked": (
            lambda: figures.alert_counts(filters, now=params["now"]),
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'open' AND due_at <= %(now)s) FROM insights_alert "
            "WHERE status IN ('open', 'acknowledged')",
            params,
        ),
    }


def statements_of(read: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements (with their parameters) that `read` sends."""
    sent: list[tuple[str, object]] = []

    def keep(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        read()
    return sent


def run_sql(statements: list[tuple[str, object]]) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()


@dataclass
class QueryTimes:
    orm_sql: list[float] = field(default_factory=list)  # the ORM's statements, sent as they are
    hand: list[float] = field(default_factory=list)  # the hand-written SQL
    orm_call: list[float] = field(default_factory=list)  # the product's call: building the query included


def measure_queries(large: Portfolio, filters: figures.InsightFilters) -> dict[str, QueryTimes]:
    """Each read's own statements against the hand-written SQL, interleaved, on the
    large portfolio; and the product's call with the ORM building the query."""
    use_database(large.database)
    timings: dict[str, QueryTimes] = {}
    for name, (orm, sql, params) in hand_written(filters).items():
        statements, hand = statements_of(orm), [(sql, params)]
        run_sql(statements), run_sql(hand)  # warm both
        times = timings[name] = QueryTimes()
        for _ in range(QUERY_ROUNDS):
            for run, kept in ((lambda: run_sql(statements), times.orm_sql), (lambda: run_sql(hand), times.hand),
                              (orm, times.orm_call)):
                started = time.perf_counter()
                run()
                kept.append((time.perf_counter() - started) * 1000)
    return timings


def query_details(label: str, timings: dict[str, QueryTimes]) -> tuple[list[str], float]:
    lines, worst = [], 0.0
    for name, times in timings.items():
        ratio = statistics.median(times.orm_sql) / statistics.median(times.hand)
        worst = max(worst, ratio)
        lines.append(f"query, {label}, {name}: the ORM's SQL {report.Spread.of(times.orm_sql).text(' ms', 2)} vs "
                     f"hand-written {report.Spread.of(times.hand).text(' ms', 2)}, ratio {ratio:.2f}; the whole "
                     f"call, building the query included, {report.Spread.of(times.orm_call).text(' ms', 2)}")
    return lines, worst


@pytest.mark.timeout(900)
def test_insights_and_work_pages_stay_flat_from_ten_thousand_to_a_million_answers():
    require_postgresql()
    with two_portfolios(customers=CUSTOMERS, small=SMALL_ANSWERS, large=LARGE_ANSWERS) as (small, large):
        p3 = measure_requests(small, large, p3_requests())
        p8 = measure_requests(small, large, p8_requests())
        today = timezone.localdate()
        default = figures.InsightFilters.default(today=today)
        year = figures.InsightFilters(date_from=today - timedelta(days=364), date_to=today)
        query_lines, worst_query = [], 0.0
        for label, filters in (("last 90 days", default), ("last 12 months", year)):
            lines, worst = query_details(label, measure_queries(large, filters))
            query_lines += lines
            worst_query = max(worst_query, worst)
        generated = [f"data: {p.label} portfolio, {p.customers:,} customers and {p.answers:,} answers, made in "
                     f"{p.generated_seconds:.0f} s (" + ", ".join(f"{step} {s:.1f} s" for step, s in p.steps.items()) + ")"
                     for p in (small, large)]

    p3_ratios = ratios(p3)
    slowest = max(p3_ratios, key=p3_ratios.get)
    page = p3["insights page, last 90 days (default)"]["large"]
    api = p3["summary API, last 90 days (default)"]["large"]
    report.record(report.Figure(
        id="P3",
        path="/insights/ and /api/v1/insights/summary/ (90 days, 12 months, one survey, one manager)",
        ours=f"page {report.Spread.of(page.milliseconds).text(' ms')}, {page.queries} queries; "
             f"API {report.Spread.of(api.milliseconds).text(' ms')}, {api.queries} queries (1M answers)",
        baseline="the same requests at 10,000 answers; each query vs hand-written SQL",
        ratio=f"worst request {p3_ratios[slowest]:.2f}× ({slowest}); worst query {worst_query:.2f}× its SQL",
        target=f"≤ {FLAT}× the 10k request; each query ≤ {AS_FAST_AS_SQL}× its SQL",
        met=max(p3_ratios.values()) <= FLAT and worst_query <= AS_FAST_AS_SQL,
        changed="the customers' latest answers kept on write in LatestAnswer (one upsert per saved answer); "
                "answers of the days not yet settled counted on write in RecentAnswerCount; invitations of "
                "settled days counted ahead in InvitationCount with AnswerCount; the page and the API read those "
                "instead of scanning answers and invitations; the answer counts broken down by tier, manager and "
                "survey apart from the weeks or months (a few hundred rows each, where together they made over "
                "4,000 at 1M answers: the API's Python time went from ~28 ms at 10k to ~72 ms at 1M, now 24–30 ms "
                "at both); customers by their latest answer (revenue at risk, the weighted net score, the "
                "quadrants) read from LatestAnswerCount, active customers counted by the day and by the month of "
                "their latest answer, by survey, tier, manager and band, with their revenue summed, kept on every "
                "answer write (the customer's rows out, the LatestAnswer upsert, back in) and every change of a "
                "customer's tier, manager, revenue or activity (customers announce it, the nightly recompute "
                "included): whole months and the days of the two months where the period and the 180 days begin, "
                "~3,500 rows at 1M answers and ~400 at 10k, where LatestAnswer joined to the customers read one row "
                "per customer who answered in the 180 days (896 at 10k, 46,600 at 1M): that read went from "
                "170–210 ms to 2–4 ms at 1M on a loaded machine. The response rate reads the settled days' "
                "invitations summed by whole month and week part (SpanInvitationCount, made with the counts' "
                "rebuild: a settled day's invitations are all closed, so nothing written later moves them), and "
                "InvitationCount only for the days at the period's ends and those not settled: a year read "
                "~18,800 day rows at 1M answers (4–9 ms), now ~2,000 (~1 ms). The summary API counts the answers "
                "by tier alone (it shows no manager or survey breakdown): a few dozen rows where tier × manager × "
                "survey made ~700 at 1M answers and ~100 at 10k. Alerts carry their answer's survey, so the "
                "survey filter counts the alerts being worked from a partial index instead of reading each one's "
                "answer (880 lookups at 1M, 4–10 ms on a loaded machine), counting on columns the index holds: "
                "an index-only scan, ~0.2 ms with or without the filter (the unfiltered count read every alert, "
                "~2 ms at 1M). Still in the way: the "
                "answer counts read every tier × manager × survey row of the period's months and of the days not "
                "settled (RecentAnswerCount, a fortnight day by day), which the 10k portfolio fills sparsely.",
        details=[*generated, "two databases, same customers, answers 10k vs 1M; "
                 f"median of {ROUNDS} interleaved rounds (min–max)", *request_details(p3), *query_lines],
    ))
    p8_ratios = ratios(p8)
    slowest = max(p8_ratios, key=p8_ratios.get)
    report.record(report.Figure(
        id="P8",
        path="alert queue, alert page, customer page with its timeline",
        ours=f"worst at 1M answers: {slowest}",
        baseline="the same pages at 10,000 answers",
        ratio=f"worst {p8_ratios[slowest]:.2f}× ({slowest})",
        target=f"≤ {FLAT}× the 10k page",
        met=max(p8_ratios.values()) <= FLAT,
        changed="the timeline's UNION reads at most a page's worth of each kind of entry, newest first, by index; "
                "the comparison made fair: both portfolios give every account manager more than a page of alerts "
                "still being worked (the 10k one left the measured manager an empty queue against 47 rows at 1M).",
        details=[*generated, f"median of {ROUNDS} interleaved rounds (min–max)",
                 "alerts still being worked in the measured account manager's queue: "
                 + ", ".join(f"{p.manager_queue} at {p.label} ({p.answers:,} answers)" for p in (small, large)),
                 *request_details(p8)],
    ))

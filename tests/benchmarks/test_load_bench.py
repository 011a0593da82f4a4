"""`make bench`, row L1: the load run of issue 16 (proof 6) at full size. 200 respondents
answer survey links for 60 s while an integrator posts delivery batches through the API
and five account managers page through their alerts, against gunicorn (gunicorn.conf.py's
default of 2 workers a core + 1), two Celery workers and beat on PostgreSQL and Redis;
Locust drives them from one process on the same machine (tests/load/scenario.py says
how, and which two settings differ from production).

Records requests a second and p95 by request type, failures, answers stored, alerts
raised; the target is the promise, not a speed: no server error, every accepted answer
stored exactly once, every alert raised, every invariant kept.

    pytest -m bench -s tests/benchmarks/test_load_bench.py
"""

from __future__ import annotations

import multiprocessing
import statistics

import pytest

from core.models import OutgoingMessage
from insights.alerts.services import notification_key
from insights.models import Alert
from tests.benchmarks import report
from tests.load.scenario import Plan, Run, problems, run
from tests.support.services import require_postgresql

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(15 * 60)]


def test_two_hundred_respondents_for_a_minute_get_no_server_error_and_lose_nothing(tmp_path):
    require_postgresql()
    if report.smoke():
        # Five processes take most of a minute to start on this machine, more than the
        # whole smoke run may take; the same scenario, and this row's figure, run in every
        # test run at 20 respondents for 10 s (tests/load/test_load.py).
        pytest.skip("the load scenario's smoke run is tests/load/test_load.py, in every test run")
    plan = Plan(
        respondents=report.size(200, 5), seconds=report.size(60, 3), managers=report.size(5, 1),
        web_workers=2 * multiprocessing.cpu_count() + 1, spawn_rate=50,
    )
    result = run(plan, tmp_path)
    found = problems(result)
    report.record(figure(result, found))
    assert found == [], result.logs


def figure(result: Run, found: list[str]) -> report.Figure:
    plan, total = result.plan, result.requests["all"]
    final = result.final_answers()
    to_alert, to_email = alert_delays()
    started, ended, finished = result.usage
    web_cpu, worker_cpu = ended.web_cpu - started.web_cpu, finished.worker_cpu - started.worker_cpu
    return report.Figure(
        id="L1",
        path=f"load: {plan.respondents} respondents, 1 integrator, {plan.managers} managers for {plan.seconds} s",
        ours=f"{total['per_second']:,.0f} requests/s, p95 {total['p95_ms']:,.0f} ms, {total['failures']} failures",
        baseline="none (a promise, not a comparison)",
        ratio="—",
        target="no 5xx; every answer stored once; every alert raised",
        met=not found,
        details=[
            f"{total['requests']:,} requests in {result.seconds:.0f} s (ramp-up at {plan.spawn_rate} users/s and "
            f"the users' last steps included); answers given by status: {dict(sorted(result.statuses.items()))}",
            *(f"{name}: {figures['requests']:,} requests, {figures['per_second']:,.1f}/s, median "
              f"{figures['median_ms']:,.0f} ms, p95 {figures['p95_ms']:,.0f} ms, max {figures['max_ms']:,.0f} ms, "
              f"{figures['failures']} failures" for name, figures in result.requests.items() if name != "all"),
            f"answers stored: {len(final):,} ({sum(1 for _, comment, _ in final.values() if comment):,} with a "
            f"comment); at-risk alerts raised: {Alert.objects.count():,}, each emailed to its manager once; "
            f"deliveries recorded: {len(result.deliveries):,}; emails received by the SMTP sink: "
            f"{len(result.received):,}",
            f"answer to alert raised: p50 {percentile(to_alert, 50):.1f} s, p95 {percentile(to_alert, 95):.1f} s; "
            f"to the manager's email sent: p50 {percentile(to_email, 50):.1f} s, p95 {percentile(to_email, 95):.1f} s "
            "(ANSWER_QUIET_MINUTES=0: the evaluation task runs 1 s after the answer)",
            f"servers: gunicorn with {plan.web_workers} sync workers, 2 Celery workers (solo pool) and beat "
            "(SWEEP_SECONDS=10), PostgreSQL, a redis-server of the run's own, an aiosmtpd sink; Locust "
            f"(FastHttpUser, one process) on the same machine, {multiprocessing.cpu_count()} cores; its load average "
            f"(1 min) {started.load_average:.1f} as the run began, {ended.load_average:.1f} as it ended "
            "(other work shares the machine)",
            f"CPU used: gunicorn's workers {web_cpu:.1f} s during the run, {1000 * web_cpu / total['requests']:.0f} ms "
            f"a request; the two Celery workers {worker_cpu:.1f} s until every answer was evaluated and every email "
            f"sent, {1000 * worker_cpu / max(len(final), 1):.0f} ms an answer stored",
            "rate limits as in production (PUBLIC_RATE_LIMIT 60 a minute per address): each respondent comes from "
            "an address of its own, in X-Forwarded-For as one trusted proxy writes it (TRUSTED_PROXY_HOPS=1)",
            *(f"PROBLEM: {problem}" for problem in found[:10]),
        ],
    )


def alert_delays() -> tuple[list[float], list[float]]:
    """Seconds from each answer first given to its alert raised, and to the email telling
    its account manager sent."""
    sent = dict(OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).values_list("key", "sent_at"))
    to_alert, to_email = [], []
    for alert in Alert.objects.select_related("response"):
        answered = alert.response.first_submitted_at
        to_alert.append((alert.created_at - answered).total_seconds())
        if sent.get(notification_key(alert)):
            to_email.append((sent[notification_key(alert)] - answered).total_seconds())
    return to_alert, to_email


def percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]

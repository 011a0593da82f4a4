"""Load, briefly (issue 16, proof 6): 20 respondents answer for 10 s while an integrator
posts delivery batches and two account managers page through their alerts, against
gunicorn, two Celery workers and beat on PostgreSQL and Redis (tests/load/scenario.py).
No server error, every accepted answer stored exactly once, every alert raised, every
invariant of tests/support/invariants.py kept. The full size (200 respondents, 60 s)
is the benchmark tests/benchmarks/test_load_bench.py; speed is judged only there."""

from __future__ import annotations

import pytest

from tests.benchmarks.test_load_bench import figure
from tests.load.scenario import Plan, problems, run
from tests.support.services import require_postgresql

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_respondents_an_integrator_and_managers_together_get_no_server_error_and_lose_nothing(tmp_path):
    require_postgresql()
    result = run(Plan(respondents=20, seconds=10, managers=2, web_workers=2, spawn_rate=20), tmp_path)

    assert problems(result) == [], result.logs
    # The run did what it says: answers, deliveries and the managers' pages all happened.
    assert result.final_answers() and result.deliveries, result.logs
    assert result.requests.get("GET /alerts/", {}).get("requests", 0) >= 1, result.logs
    assert result.tokens_left > 0  # no respondent ran out of links
    # The benchmark's row L1 is drawn from the same run (make bench-smoke leaves it to this test).
    assert figure(result, []).met is True

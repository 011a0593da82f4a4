"""The answer benchmarks' and the load scenario's data makers leave the invitations
they load analysed, as autovacuum would: the web processes' statements, prepared from
their 5th run, were otherwise planned for the nearly empty table PostgreSQL first saw
(the token lookup reading every invitation). Runs in `make test` (not a benchmark: no
figure is judged)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from surveys.models import Invitation
from tests.benchmarks import test_answer_path_inprocess_bench, test_answer_web_bench
from tests.load import scenario
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db


def for_p1_over_http(count: int, directory: Path) -> None:
    test_answer_web_bench.fresh_invitations(count)


def for_p1_in_process(count: int, directory: Path) -> None:
    test_answer_path_inprocess_bench.tokens("analysed", count)


def for_the_load_scenario(count: int, directory: Path) -> None:
    scenario.prepare(scenario.Plan(respondents=count, seconds=1, managers=1), directory)


def invitations_postgresql_believes_there_are() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Invitation._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("load", [for_p1_over_http, for_p1_in_process, for_the_load_scenario])
def test_the_invitations_a_benchmark_loads_are_analysed(load, tmp_path):
    require_postgresql()
    load(37, tmp_path)
    assert Invitation.objects.exists()
    assert invitations_postgresql_believes_there_are() == Invitation.objects.count()

"""README "Backup and restore", followed as an operator would: `pg_dump` of a running
installation's database, `pg_restore` into an empty one, `ANALYZE`, then `migrate`."""

from __future__ import annotations

import shutil
import subprocess
import sys

import psycopg
import pytest

from surveys.models import Response
from tests.conftest import require_service
from tests.factories import ResponseFactory
from tests.support import processes
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr}"
    return result


def columns_with_statistics(url: str, table: str) -> int:
    """How many of `table`'s columns PostgreSQL's planner has statistics for (their
    values' spread, most common values, distinct counts), which only ANALYZE gathers."""
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table]).fetchone()[0]


def rows(url: str, table: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # nosec B608: a test's own names


@pytest.fixture
def empty_database():
    """A database of its own beside the test database, dropped afterwards."""
    require_postgresql()
    require_service(
        bool(shutil.which("pg_dump") and shutil.which("pg_restore")),
        "PostgreSQL's client programs pg_dump and pg_restore",
        "Install Debian's postgresql-client.",
    )
    source = processes.test_database_url()
    name = source.rsplit("/", 1)[1] + "_restored"
    admin = source.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield source.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_restored_backup_holds_every_answer_and_analyze_gives_the_planner_its_statistics(tmp_path, empty_database):
    ResponseFactory.create_batch(3)
    source, restored = processes.test_database_url(), empty_database
    dump = tmp_path / "valuepulse.dump"

    run(["pg_dump", "--format=custom", f"--file={dump}", source])
    run(["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)])

    assert rows(restored, "surveys_response") == Response.objects.count() == 3
    # A dump carries no column statistics (PostgreSQL 15): until ANALYZE the planner
    # guesses how selective every filter is.
    assert columns_with_statistics(restored, "surveys_response") == 0
    run(["psql", restored, "--quiet", "--command=ANALYZE"])
    assert columns_with_statistics(restored, "surveys_response") == len(Response._meta.concrete_fields)
    # The schema restored is the code's: migrate finds nothing left to do.
    environment = {**processes.child_environment(var_dir=tmp_path, redis_url=None), "DATABASE_URL": restored, "DEBUG": "true"}
    run([sys.executable, "manage.py", "migrate", "--check"], cwd=processes.PROJECT_DIR, env=environment)

"""core.unawaited: a statement sent to PostgreSQL now, its answer read later (the
outbox's outcome UPDATE). Real PostgreSQL; the statement touches a table of the test's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from core import unawaited
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)

UPDATE = "UPDATE test_unawaited SET seen_at = $1 WHERE id = $2"


@pytest.fixture
def table():
    require_postgresql()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_unawaited (id bigint PRIMARY KEY, seen_at timestamptz)")
        cursor.execute("INSERT INTO test_unawaited (id) VALUES (1), (2)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE test_unawaited")


def seen_at(row_id: int) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT seen_at FROM test_unawaited WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


class TestUnawaited:
    def test_the_answer_read_later_gives_the_rows_changed_and_the_change_is_committed(self, table):
        at = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)

        result = unawaited.send(connection, "test_unawaited", UPDATE, [unawaited.text(at), unawaited.text(1)])

        assert result() == 1
        assert seen_at(1) == at
        assert unawaited.send(connection, "test_unawaited", UPDATE, [None, unawaited.text(99)])() == 0

    def test_a_statement_dropped_after_a_rollback_is_prepared_again(self, table):
        at = datetime(2026, 5, 4, tzinfo=UTC)
        assert unawaited.send(connection, "test_unawaited", UPDATE, [unawaited.text(at), b"1"])() == 1
        # psycopg deallocates every prepared statement of its connection after a ROLLBACK.
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")

        assert unawaited.send(connection, "test_unawaited", UPDATE, [unawaited.text(at), b"2"])() == 1

        assert seen_at(2) == at

    def test_it_refuses_to_run_inside_a_transaction_which_its_statement_would_escape(self, table):
        # psycopg begins a transaction only before a statement of its own.
        with transaction.atomic():
            assert not unawaited.possible(connection)
            with pytest.raises(ValueError):
                unawaited.send(connection, "test_unawaited", UPDATE, [b"2026-05-04T00:00:00+00:00", b"1"])

        assert seen_at(1) is None

    def test_an_error_is_raised_as_djangos_when_the_answer_is_read_and_the_connection_goes_on(self, table):
        result = unawaited.send(connection, "test_unawaited_insert", "INSERT INTO test_unawaited (id) VALUES ($1)",
                                [b"1"])

        with pytest.raises(IntegrityError):
            result()
        assert seen_at(2) is None

"""One statement sent to PostgreSQL now and its answer read later, for the outbox.

The outbox records each message's outcome before the mail server can accept the next
(core.outbox, core.smtp). Sent and then waited for, that UPDATE's round trip to
PostgreSQL kept the mail server idle; sent as the next message's MAIL FROM goes and
read just before its data is written, it runs while the server answers MAIL FROM, RCPT
TO and DATA, and the rule holds: the outcome is committed before the next data goes.

This talks to the connection's libpq directly (psycopg's `pq`, through Django's
connection, which psycopg exposes as `Connection.pgconn`): psycopg's cursors send a
statement and wait for it in one call. Between `send` and the answer's `result`
nothing else may use the connection, so the caller reads every answer before it
touches the database again.

Only in autocommit, outside any transaction: psycopg opens a transaction (BEGIN) only
before a statement of its own, so a statement sent here inside Django's atomic() as
its first would run, and commit, outside it. The caller runs its statement the usual
way there.

The statement is prepared once a connection, under a name of its own (psycopg's own
prepared statements are named _pg3_…), so that PostgreSQL plans it once. psycopg
deallocates every prepared statement of its connection after a ROLLBACK or a DROP; a
statement found gone is prepared again and run once more (in autocommit, the failed
attempt changed nothing).
"""

from __future__ import annotations

import selectors
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime

import psycopg
from psycopg import pq

# PostgreSQL's SQLSTATE for "prepared statement … does not exist".
_NO_SUCH_STATEMENT = "26000"
# The psycopg connections each statement name was prepared on.
_PREPARED: dict[bytes, weakref.WeakSet] = {}


def text(value: object) -> bytes | None:
    """`value` as PostgreSQL reads a parameter in text form (None: NULL); a datetime in
    ISO 8601, its offset included."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def possible(connection) -> bool:
    """Whether `send` may be used on Django's `connection` now: PostgreSQL, in autocommit."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block and connection.get_autocommit()


def send(connection, name: str, sql: str, params: Sequence[bytes | None]) -> Callable[[], int]:
    """Sends `sql` (placeholders $1, $2, …) with `params` (see `text`) over Django's
    PostgreSQL `connection`, in autocommit (`possible`), without waiting for its answer.
    Returns `result`: call it once, before anything else uses the connection; it waits
    for the answer and returns the number of rows changed, or raises the statement's
    error (as django.db's)."""
    if not possible(connection):
        raise ValueError("core.unawaited.send runs only on PostgreSQL, in autocommit.")
    connection.ensure_connection()
    with connection.wrap_database_errors:
        own = connection.connection
        pgconn = own.pgconn
        key = name.encode()
        _prepare_once(own, key, sql)
        pgconn.send_query_prepared(key, params)
        _flush(pgconn)

    def result() -> int:
        with connection.wrap_database_errors:
            answer = _answer(pgconn)
            if answer.status == pq.ExecStatus.FATAL_ERROR and _gone(answer):
                _PREPARED[key].discard(own)
                _prepare_once(own, key, sql)
                pgconn.send_query_prepared(key, params)
                _flush(pgconn)
                answer = _answer(pgconn)
            _raise_if_failed(answer, pgconn)
            return answer.command_tuples or 0

    return result


def _prepare_once(own: psycopg.Connection, key: bytes, sql: str) -> None:
    prepared_on = _PREPARED.setdefault(key, weakref.WeakSet())
    if own in prepared_on:
        return
    own.pgconn.send_prepare(key, sql.encode())
    _flush(own.pgconn)
    _raise_if_failed(_answer(own.pgconn), own.pgconn)
    prepared_on.add(own)


def _gone(answer: pq.PGresult) -> bool:
    return (answer.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode() == _NO_SUCH_STATEMENT


def _raise_if_failed(answer: pq.PGresult, pgconn: pq.PGconn) -> None:
    if answer.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        return
    sqlstate = (answer.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (answer.error_message or pgconn.error_message).decode(errors="replace").strip()
    try:
        error = psycopg.errors.lookup(sqlstate)
    except KeyError:
        error = psycopg.DatabaseError
    raise error(message)


def _flush(pgconn: pq.PGconn) -> None:
    """Writes what libpq holds of the statement (the connection is non-blocking)."""
    while pgconn.flush() != 0:
        _wait(pgconn, selectors.EVENT_WRITE)


def _answer(pgconn: pq.PGconn) -> pq.PGresult:
    """The statement's one result, once the server is ready for the next (every result
    read, so that the connection is free)."""
    results = []
    while True:
        while pgconn.is_busy():
            _wait(pgconn, selectors.EVENT_READ)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            break
        results.append(result)
    if not results:
        raise psycopg.OperationalError(pgconn.error_message.decode(errors="replace").strip() or "no answer")
    return results[-1]


def _wait(pgconn: pq.PGconn, event: int) -> None:
    if pgconn.status == pq.ConnStatus.BAD:
        raise psycopg.OperationalError(pgconn.error_message.decode(errors="replace").strip() or "connection lost")
    with selectors.DefaultSelector() as selector:
        selector.register(pgconn.socket, event)
        selector.select()

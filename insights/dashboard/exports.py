"""CSV exports of the insights: the answers of a period and the customers.

Rows are read from the database a chunk at a time and sent to the client as they are
written, so an export of a million answers never holds them all in memory. Every cell
goes through `csv_response`, which alone turns values into text: no export can forget
the defence against formulas that spreadsheets would run. The one exception is the
answers export on PostgreSQL (`answers_csv_response`), which can run to a million rows:
there PostgreSQL writes the CSV itself (COPY … TO STDOUT) with the same defence and the
same time format in SQL, and its lines end in LF rather than CRLF.

Numbers are rounded by the app's one rule (core.numbers.round_half_up): amounts to the
cent, in the currency named by the `currency` column; shares 0–1 (`on_time_rate`) to 3
decimals; average days late to 1. Times are ISO 8601 to the second with their offset."""

from __future__ import annotations

import contextlib
import csv
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, tzinfo

from django.db import connection, transaction
from django.db.models import Case, CharField, F, Func, Q, QuerySet, Value, When
from django.db.models.functions import Concat, NullIf
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from core.numbers import currency_code, round_half_up
from customers.models import Customer
from customers.value import avg_days_late_on

from . import figures
from .figures import InsightFilters

logger = logging.getLogger(__name__)

# Rows fetched from the database at a time (a server-side cursor on PostgreSQL): the
# memory an export needs is one chunk's, whatever its length.
CHUNK_SIZE = 2000
# Lines sent to the client at a time: sending each on its own doubled the time to write them.
LINES_PER_CHUNK = 200

# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (OWASP, "CSV injection"); a signed plain number is not, and must stay a number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")

# Each column's name and the field (or expression) it reads; all are read in one joined query.
RESPONSE_COLUMNS = {
    "submitted_at": "submitted_at",
    "customer_external_id": "customer__external_id",
    "customer": "customer__name",
    "tier": "customer__tier",
    "account_manager": "customer__account_manager__username",
    # An erased contact's placeholder address says nothing to a reader: "erased" does.
    "contact_email": Case(
        When(invitation__contact__erased_at__isnull=False, then=Value("erased")),
        default=F("invitation__contact__email"),
        output_field=CharField(),
    ),
    "delivery_reference": "invitation__delivery__reference",
    "survey": "survey__slug",
    "score": "score",
    "band": "band",
    "comment": "comment",
    "revisions": "revisions",
}
CUSTOMER_COLUMNS = {
    "external_id": "external_id",
    "name": "name",
    "active": "is_active",
    "account_manager": "account_manager__username",
    "tier": "tier",
    "currency": None,  # settings.CURRENCY: what the amounts after it are in
    "revenue_12m": "revenue_12m",
    "cost_to_serve": "cost_to_serve",
    "net_value": "net_value",
    "on_time_rate": "on_time_rate",
    "avg_days_late": "avg_days_late",
    "latest_score": "latest_score",
    "latest_band": "latest_band",
    "latest_answer_at": "latest_answer_at",
}


class _Echo:
    """Where csv.writer writes: it hands each formatted line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_response(rows: Iterable[Sequence[object]], *, filename: str) -> StreamingHttpResponse:
    """`rows` (the header first) as a CSV download, streamed as it is read. Times are
    written in ISO 8601 to the second, with their offset in the current time zone."""
    return _download(_lines(rows, filename=filename), filename=filename)


def _download(body: Iterable[str | bytes], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    # Customer data: no copy on shared caches or on disk.
    patch_cache_control(response, no_store=True)
    return response


def _lines(rows: Iterable[Sequence[object]], *, filename: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    zone = timezone.get_current_timezone()
    # The byte order mark makes Excel read the file as UTF-8 rather than its local code page.
    lines, sent = ["\ufeff"], 0
    try:
        for row in rows:
            lines.append(writer.writerow([_cell(value, zone) for value in row]))
            if len(lines) >= LINES_PER_CHUNK:
                sent += len(lines)
                yield "".join(lines)
                lines = []
    except Exception:
        # The headers are gone already: all we can do is break the download off (the
        # browser reports it failed) and say why here.
        logger.exception("Export %s failed after %d lines", filename, sent)
        raise
    yield "".join(lines)


def _cell(value: object, zone: tzinfo) -> object:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def neutralise(value: object) -> object:
    """The value, with an apostrophe before a text a spreadsheet would run as a formula.
    Numbers, and texts that are a plain signed number, are left as they are; None stays
    None (csv writes an empty cell)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def answers_csv_response(filters: InsightFilters, *, filename: str) -> StreamingHttpResponse:
    """The answers export: written by PostgreSQL itself where it runs (ten times the
    rows a second of Python's csv), by `csv_response` elsewhere; the same cells both ways."""
    if connection.vendor != "postgresql":
        return csv_response(response_rows(filters), filename=filename)
    return _download(_copied(_answers_in_sql(filters), header=list(RESPONSE_COLUMNS), filename=filename),
                     filename=filename)


# Cells that hold text, which `neutralise` guards; the others are numbers and the time.
RESPONSE_NUMBERS = {"tier", "score", "revisions"}
# Bytes of CSV sent to the client at a time from COPY, which hands over one line at a time.
COPY_CHUNK_BYTES = 64 * 1024


class _IsoSeconds(Func):
    """A time as `_cell` writes it: ISO 8601 to the second, with the offset of the
    session's time zone (PostgreSQL's JSON form of a timestamptz is exactly that)."""

    template = "(to_json(date_trunc('second', %(expressions)s)) #>> '{}')"
    output_field = CharField()


def _neutralised_in_sql(column: str) -> Case:
    """`neutralise` in SQL. An empty text becomes NULL, which COPY writes as an empty
    cell as csv does (it would write an empty text as a quoted "")."""
    starts = "^[" + "".join(start for start in FORMULA_STARTS if start != "-") + "-]"
    formula = Q(**{f"{column}__regex": starts}) & ~Q(**{f"{column}__regex": f"^{PLAIN_NUMBER.pattern}$"})
    return Case(When(formula, then=Concat(Value("'"), F(column))), default=NullIf(F(column), Value("")),
                output_field=CharField())


def _answers_in_sql(filters: InsightFilters) -> QuerySet:
    """`response_rows` without the header, each cell already as `_cell` writes it."""
    answers = figures.answers(filters).alias(**{
        f"raw_{name}": F(field) if isinstance(field, str) else field for name, field in RESPONSE_COLUMNS.items()
    })
    cells = {
        name: (_IsoSeconds(f"raw_{name}") if name == "submitted_at"
               else F(f"raw_{name}") if name in RESPONSE_NUMBERS
               else _neutralised_in_sql(f"raw_{name}"))
        for name in RESPONSE_COLUMNS
    }
    return answers.annotate(**{f"csv_{name}": cell for name, cell in cells.items()}).order_by(
        "submitted_at", "pk").values_list(*(f"csv_{name}" for name in cells))


def _copied(cells: QuerySet, *, header: list[str], filename: str) -> Iterator[bytes]:
    """`cells` as CSV from PostgreSQL's COPY, after the byte order mark and `header`,
    in chunks of about COPY_CHUNK_BYTES: memory stays at one chunk whatever the length.
    Times are written in the current time zone, set for the COPY alone."""
    yield ("\ufeff" + ",".join(header) + "\n").encode()
    select, params = cells.query.sql_with_params()
    sql = f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
    sent = 0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [timezone.get_current_timezone_name()])
            try:
                with _logged(cursor, sql, params), cursor.cursor.copy(sql, params) as copy:
                    chunk = bytearray()
                    for line in copy:
                        chunk += line
                        if len(chunk) >= COPY_CHUNK_BYTES:
                            sent += len(chunk)
                            yield bytes(chunk)
                            chunk.clear()
                    yield bytes(chunk)
            finally:
                # Django reads times in the connection's own zone (UTC). The setting
                # ends with the transaction, but inside a caller's it would outlive ours.
                cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
    except Exception:
        logger.exception("Export %s failed after %d bytes", filename, sent)
        raise


def _logged(cursor, sql: str, params: Sequence[object]):
    """COPY runs on the driver's cursor, past Django's query log: this puts it there
    when queries are logged (DEBUG, tests counting them), as Django does for its own."""
    return cursor.debug_sql(sql, params) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()


def response_rows(filters: InsightFilters) -> Iterator[list]:
    """The header, then the answers counted in the period within the filters, oldest first."""
    yield list(RESPONSE_COLUMNS)
    answers = figures.answers(filters).order_by("submitted_at", "pk").values_list(*RESPONSE_COLUMNS.values())
    for row in answers.iterator(chunk_size=CHUNK_SIZE):
        yield list(row)


def customer_rows(filters: InsightFilters) -> Iterator[list]:
    """The header, then every customer of the tier and account manager asked for, active
    or not, most revenue first. The period and survey do not apply: the figures are the
    customer's as they stand now."""
    yield list(CUSTOMER_COLUMNS)
    fields = [field for field in CUSTOMER_COLUMNS.values() if field]
    customers = figures.within(filters, Customer.objects.all(), customer="", survey=None)
    # The average days late as of today, from the parts the customer keeps.
    customers = customers.annotate(avg_days_late=avg_days_late_on(timezone.localdate()))
    customers = customers.order_by("-revenue_12m", "pk").values(*fields)
    currency = currency_code()
    for customer in customers.iterator(chunk_size=CHUNK_SIZE):
        yield [
            currency if field is None else _rounded(customer[field], CUSTOMER_DECIMALS.get(field))
            for field in CUSTOMER_COLUMNS.values()
        ]


# Decimals each number is written with (the rest are whole numbers or text).
CUSTOMER_DECIMALS = {"revenue_12m": 2, "cost_to_serve": 2, "net_value": 2, "on_time_rate": 3, "avg_days_late": 1}


def _rounded(value: object, places: int | None) -> object:
    if places is None or value is None:
        return value
    return round_half_up(value, places)

"""CSV imports of customers, contacts, invoices and deliveries (`manage.py import_csv`).

A file is one big bulk request: its header row names the API's fields, the API's bulk
serializers validate its rows in chunks of at most 1,000 (their limit), the services
behind the bulk endpoints write them, and it is all or nothing. Every error in the
file is reported with its line number before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import transaction
from rest_framework import serializers
from rest_framework.settings import api_settings

from core.api.bulk import MAX_BULK_ROWS, BulkListSerializer, Row
from customers import services as customer_services
from customers.api.serializers import (
    ContactRowSerializer,
    CustomerRowSerializer,
    InvoiceRowSerializer,
)
from surveys import services as survey_services
from surveys.api.serializers import DeliveryRowSerializer

# Called with ("validated", rows so far, None), then ("written", rows so far, all rows).
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None  # None: the row as a whole
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, {self.field}" if self.field else f"line {self.line}"
        return f"{where}: {self.message}"


class BadFile(Exception):
    """The file cannot be read as this kind of CSV (header, encoding, quoting)."""


class BadRows(Exception):
    """Some rows are invalid, so nothing was written; `errors` lists them all."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.bad_rows = len({error.line for error in errors})
        super().__init__(f"{self.bad_rows} bad row{'' if self.bad_rows == 1 else 's'}; nothing was imported.")


@dataclass(frozen=True)
class Kind:
    name: str
    # A row serializer of the bulk API; its list class does the checks across rows.
    serializer: type[serializers.Serializer]
    # What identifies a row (the key the bulk serializer rejects repeats of) and the
    # field a repeat is reported on.
    key: Callable[[Row], Hashable]
    key_field: str
    repeat_rule: str
    # Writes up to 1,000 validated rows; answers counts named as in `outcomes`.
    write: Callable[[list[Row]], dict[str, int]]
    outcomes: tuple[str, str]
    # The order rows are written in, when it matters.
    order: Callable[[Row], Any] | None = None


def _write_customers(rows: list[Row]) -> dict[str, int]:
    result = customer_services.upsert_customers(customers=[customer_services.CustomerData(**row) for row in rows])
    return {"created": result.created, "updated": result.updated}


def _write_contacts(rows: list[Row]) -> dict[str, int]:
    contacts = [customer_services.ContactData(customer_id=row.pop("customer").pk, **row) for row in rows]
    result = customer_services.upsert_contacts(contacts=contacts)
    return {"created": result.created, "updated": result.updated}


def _write_invoices(rows: list[Row]) -> dict[str, int]:
    invoices = [customer_services.InvoiceData(customer_id=row.pop("customer").pk, **row) for row in rows]
    result = customer_services.upsert_invoices(invoices=invoices)
    return {"created": result.created, "updated": result.updated}


def _write_deliveries(rows: list[Row]) -> dict[str, int]:
    deliveries = [
        survey_services.DeliveryData(**DeliveryRowSerializer.delivery_values_of(row)) for row in rows
    ]
    results = survey_services.record_deliveries(deliveries=deliveries)
    created = sum(result.created for result in results)
    return {"created": created, "existing": len(results) - created}


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in [
        Kind(
            name="customers",
            serializer=CustomerRowSerializer,
            key=lambda row: row["external_id"],
            key_field="external_id",
            repeat_rule="each customer may appear once per file",
            write=_write_customers,
            outcomes=("created", "updated"),
        ),
        Kind(
            name="contacts",
            serializer=ContactRowSerializer,
            key=lambda row: (row["customer"], row["email"].lower()),
            key_field="email",
            repeat_rule="each email may appear once per customer and file",
            write=_write_contacts,
            outcomes=("created", "updated"),
        ),
        Kind(
            name="invoices",
            serializer=InvoiceRowSerializer,
            key=lambda row: (row["customer"], row["number"]),
            key_field="number",
            repeat_rule="each invoice number may appear once per customer and file",
            write=_write_invoices,
            outcomes=("created", "updated"),
        ),
        Kind(
            name="deliveries",
            serializer=DeliveryRowSerializer,
            key=lambda row: (row["customer"], row["reference"]),
            key_field="reference",
            repeat_rule="each reference may appear once per customer and file",
            write=_write_deliveries,
            outcomes=("created", "existing"),
            # Of two deliveries to one contact inside the throttle window the later one is
            # suppressed, as within one bulk request, wherever the two sit in the file.
            order=lambda row: row["delivered_at"],
        ),
    ]
}


def import_csv(*, kind: str, file: Iterable[str], progress: Progress | None = None) -> dict[str, int]:
    """Validates every row of `file` (text, opened with newline=""), then writes them
    all in one transaction. Answers the counts of `KINDS[kind].outcomes`.

    Raises BadFile when the header or the file itself is unusable, and BadRows listing
    every bad row when any is bad; nothing is written then.
    """
    spec = KINDS[kind]
    progress = progress or _no_progress
    rows = _validate(spec, _read(spec, file), progress)
    if spec.order:
        rows.sort(key=spec.order)
    counts = dict.fromkeys(spec.outcomes, 0)
    written = 0
    with transaction.atomic():
        for chunk in _batched(rows, MAX_BULK_ROWS):
            for outcome, count in spec.write(chunk).items():
                counts[outcome] += count
            written += len(chunk)
            progress("written", written, len(rows))
    return counts


def columns_of(spec: Kind) -> tuple[list[str], list[str]]:
    """The columns a file of this kind may have, and those it must have."""
    fields = {name: field for name, field in spec.serializer().fields.items() if not field.read_only}
    return list(fields), [name for name, field in fields.items() if field.required]


def _no_progress(stage: str, rows: int, total: int | None) -> None:
    pass


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _read(spec: Kind, file: Iterable[str]) -> Iterator[tuple[int, Row | RowError]]:
    """Yields each row's first line number with its data, a dict keyed by the API's
    field names, or with the error when its cells do not match the header.

    An empty cell leaves the field out, or sends null where the field takes null.
    """
    reader = csv.reader(file)
    try:
        header = next(reader, None)
        if header is None:
            allowed, _ = columns_of(spec)
            raise BadFile(f"The file is empty; its first line must name the columns ({', '.join(allowed)}).")
        columns = [name.strip() for name in header]
        columns[0] = columns[0].removeprefix("\ufeff")
        _check_header(spec, columns)
        nullable = {name for name, field in spec.serializer().fields.items() if field.allow_null}
        end = reader.line_num
        for cells in reader:
            # A quoted cell may span lines: the row starts after the previous one ended.
            line, end = end + 1, reader.line_num
            if not any(cells):
                continue  # a blank line, or one of only commas
            if len(cells) != len(columns):
                yield line, RowError(line, None, f"Has {len(cells)} cells where the header has {len(columns)}.")
                continue
            yield line, {
                column: None if cell == "" else cell
                for column, cell in zip(columns, cells)
                if cell != "" or column in nullable
            }
    except csv.Error as exc:
        raise BadFile(f"line {reader.line_num}: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"line {reader.line_num + 1}: not UTF-8 text ({exc.reason}); save the file as UTF-8 (\"CSV UTF-8\")."
        ) from None


def _check_header(spec: Kind, columns: list[str]) -> None:
    allowed, required = columns_of(spec)
    problems = []
    if unknown := [column for column in columns if column not in allowed]:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if missing := [column for column in required if column not in columns]:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if repeated := sorted({column for column in columns if columns.count(column) > 1}):
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise BadFile(
            f"The header row has {'; '.join(problems)}. Columns for {spec.name}: "
            f"{', '.join(allowed)} (required: {', '.join(required)})."
        )


def _validate(spec: Kind, rows: Iterator[tuple[int, Row | RowError]], progress: Progress) -> list[Row]:
    """Every row validated as the bulk API does, 1,000 at a time, plus repeats across
    the whole file. Answers the validated rows, or raises BadRows naming every error.

    Each row is validated on its own first, then the rows valid on their own go through the
    list's checks across rows (references looked up in one query), so that one bad row
    does not hide the errors of the others in its chunk.
    """
    bulk: BulkListSerializer = spec.serializer(many=True)
    valid: list[Row] = []
    errors: list[RowError] = []
    first_line: dict[Hashable, int] = {}
    done = 0
    for chunk in _batched(rows, MAX_BULK_ROWS):
        checked, lines = [], []
        for line, data in chunk:
            if isinstance(data, RowError):
                errors.append(data)
                continue
            try:
                row = bulk.child.run_validation(data)
            except serializers.ValidationError as exc:
                errors.extend(_row_errors(line, exc.detail))
                continue
            first = first_line.setdefault(spec.key(row), line)
            if first != line:
                errors.append(RowError(line, spec.key_field, f"Repeats line {first}: {spec.repeat_rule}."))
                continue
            checked.append(row)
            lines.append(line)
        for index, fields in bulk.check_rows(checked).items():
            errors.extend(_row_errors(lines[index], fields))
        if not errors:
            valid.extend(checked)
        done += len(chunk)
        progress("validated", done, None)
    if errors:
        raise BadRows(sorted(errors, key=lambda error: error.line))
    return valid


def _row_errors(line: int, detail: Any) -> Iterator[RowError]:
    fields = detail.items() if isinstance(detail, dict) else [(None, detail)]
    for field, messages in fields:
        for message in messages if isinstance(messages, list) else [messages]:
            yield RowError(line, None if field == api_settings.NON_FIELD_ERRORS_KEY else field, str(message))

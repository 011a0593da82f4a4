"""Bulk endpoints: a list of at most 1,000 rows, accepted all or nothing, with one error shape."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

MAX_BULK_ROWS = 1000

Row = dict[str, Any]
RowErrors = dict[int, dict[str, list[str]]]


class UpsertCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Rows that did not exist before.")
    updated = serializers.IntegerField(help_text="Rows that existed and were replaced.")


def find_repeats(rows: Sequence[Row], key: Callable[[Row], Hashable]) -> dict[int, int]:
    """Maps the index of each row repeating an earlier row's key to that earlier index."""
    first_seen: dict[Hashable, int] = {}
    return {
        index: first
        for index, row in enumerate(rows)
        if (first := first_seen.setdefault(key(row), index)) != index
    }


class BulkListSerializer(serializers.ListSerializer):
    """A list of at most 1,000 rows, accepted all or nothing.

    A 400 answer names each bad row by its index in the list (from 0; a string in JSON)
    and then the field: `{"3": {"name": ["This field may not be blank."]}}`; only bad
    rows appear. That is DRF's own dict form of list errors (its default,
    LIST_SERIALIZER_ERRORS_AS_DICT), so every bulk endpoint answers alike. A problem with the body as a whole (not a list, too many rows) is
    `{"non_field_errors": ["..."]}`. Rows are validated one by one first; the checks
    across rows (repeats, references to other records, one query for the whole list)
    run once every row is valid on its own.
    """

    default_error_messages = {
        "max_length": "At most {max_length} rows per request; split the list into several requests.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_BULK_ROWS)
        super().__init__(*args, **kwargs)

    def validate(self, rows: list[Row]) -> list[Row]:
        errors = self.check_rows(rows)
        if errors:
            raise serializers.ValidationError(dict(sorted(errors.items())))
        return rows

    def check_rows(self, rows: list[Row]) -> RowErrors:
        """Cross-row checks; may replace references in `rows` with the records they name."""
        raise NotImplementedError


BULK_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "description": (
            "Nothing was written. Each key is the index (from 0) of a bad row, with that row's "
            "field errors; a problem with the body as a whole is under non_field_errors, "
            "and a body that is not JSON at all is explained under detail."
        ),
        "properties": {
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"},
        },
        "additionalProperties": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    description="Invalid rows; nothing was written.",
    examples=[
        OpenApiExample(
            "A bad row",
            value={"3": {"name": ["This field may not be blank."]}},
            status_codes=["400"],
        ),
        OpenApiExample(
            "Too many rows",
            value={"non_field_errors": [f"At most {MAX_BULK_ROWS} rows per request; split the list into several requests."]},
            status_codes=["400"],
        ),
    ],
)
# The start of every bulk endpoint's description in the schema.
BULK_DESCRIPTION = f"At most {MAX_BULK_ROWS} rows. All or nothing: one bad row and nothing is written. "

"""Reading values from a query string leniently: anything unrecognised is None."""

from __future__ import annotations


def int_choice(value: str, choices: list[int]) -> int | None:
    """`value` from a query string as one of the integer `choices`, or None."""
    return int(value) if value in {str(choice) for choice in choices} else None


def is_id(value: str) -> bool:
    # Bounded so that no database is handed an integer wider than its columns.
    return value.isascii() and value.isdigit() and int(value) < 2**63

"""Survey texts that staff edit in admin, with placeholders filled in per invitation."""

from __future__ import annotations

from string import Formatter

PLACEHOLDERS = ("contact_name", "customer", "delivery")


def fill_in(text: str, *, contact_name: str, customer: str, delivery: str) -> str:
    """Replaces {contact_name}, {customer} and {delivery}. Raises KeyError naming an
    unknown placeholder, ValueError for a stray brace; `{{` writes a literal brace.

    Only plain names are allowed: `{customer.__class__}` and friends are refused, so a
    text can never reach into Python objects."""
    values = {"contact_name": contact_name, "customer": customer, "delivery": delivery}
    for _, field, spec, conversion in Formatter().parse(text):
        if field is None:
            continue
        if field not in values or spec or conversion:
            raise KeyError(field)
    return text.format_map(values)

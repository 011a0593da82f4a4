"""Checks for text that arrives from outside (API, imports): one-line values and emails.

Django-style validators (they raise django.core.exceptions.ValidationError), so
models, forms, serializers and import commands can all share them.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# C0 and C1 control characters (CR, LF, tab, NUL, DEL, ...) and the Unicode line and
# paragraph separators: none belongs in a one-line value, and a line break in a value
# that ends up in an email header or a CSV export is an injection.
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def reject_control_characters(value: str) -> None:
    match = _CONTROL_CHARACTER.search(value)
    if match:
        raise ValidationError(
            "Must be a single line of text without control characters "
            "(found U+%(code)04X at position %(position)d).",
            code="control_character",
            params={"code": ord(match.group()), "position": match.start() + 1},
        )


def normalize_email(value: str) -> str:
    """The domain is case-insensitive, so it is lower-cased; the local part is kept as
    given, because a mail server may in principle treat its case as significant.
    Comparisons between addresses are case-insensitive anyway (see Contact)."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return value.strip()
    return f"{local}@{domain.lower()}"

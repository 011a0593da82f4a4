"""Checks for the customer's own identifiers; the generic text checks are in core.validators."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.validators import reject_control_characters


def validate_external_id(value: str) -> None:
    """External IDs are addressed as one URL path segment (`/api/v1/customers/<id>/`),
    so a slash would make the customer unreachable there."""
    reject_control_characters(value)
    if "/" in value:
        raise ValidationError("Must not contain a slash (/).", code="slash")

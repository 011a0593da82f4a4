from __future__ import annotations

import re
from datetime import UTC, datetime, time

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from customers.models import Band, Tier
from surveys.models import Response

# An unencoded "+" in a query string arrives as a space: "…T14:30:00 01:00" can only
# have meant "+01:00".
_SPACE_FOR_PLUS = re.compile(r"^(\S+T[\d:.]+) (\d{2}(?::?\d{2})?)$")


class SinceField(forms.Field):
    """A datetime with its offset, or a date (from its midnight in TIME_ZONE)."""

    default_error_messages = {
        "invalid": "Enter a date (2026-11-22) or a datetime with an offset (2026-11-22T14:30:00+01:00).",
        "naive": "Include a UTC offset, e.g. 2026-11-22T14:30:00+01:00 or 2026-11-22T13:30:00Z.",
    }

    def to_python(self, value: str | None) -> datetime | None:
        value = (value or "").strip()
        if not value:
            return None
        value = _SPACE_FOR_PLUS.sub(r"\1+\2", value)
        try:
            # A date first: parse_datetime would read one as a naive midnight.
            if (day := parse_date(value)) is not None:
                moment = timezone.make_aware(datetime.combine(day, time.min))
            else:
                moment = parse_datetime(value)
        except ValueError:  # well-formed but impossible, like February 30
            moment = None
        if moment is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(moment):
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        try:
            moment.astimezone(UTC)  # the database compares in UTC; years 1 and 9999 overflow
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        return moment


SINCE_HELP = (
    "Answers given (or last changed) at or after this moment: a datetime with an offset "
    "(2026-11-22T14:30:00+01:00; encode + as %2B) or a date (from its midnight, server time)."
)


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
        "description": SINCE_HELP,
    }
)
class SinceFilter(filters.Filter):
    field_class = SinceField


class ResponseFilter(filters.FilterSet):
    since = SinceFilter(
        field_name="submitted_at",
        lookup_expr="gte",
        help_text=SINCE_HELP,
    )
    band = filters.ChoiceFilter(choices=Band.choices, help_text="The answer's band.")
    tier = filters.TypedChoiceFilter(
        field_name="customer__tier", choices=Tier.choices, coerce=int, help_text="The customer's current tier, 1 to 4."
    )
    customer = filters.CharFilter(field_name="customer__external_id", help_text="External ID of the customer.")

    class Meta:
        model = Response
        fields = ["since", "band", "tier", "customer"]

"""Filters for the API's lists that refuse a value they cannot read instead of ignoring
it (django-filter's BooleanFilter reads `?is_active=yes please` as no filter at all and
lists everything): a 400 naming the filter."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters

TRUE, FALSE = {"true", "1"}, {"false", "0"}


class _StrictBooleanField(forms.NullBooleanField):
    widget = forms.TextInput

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in TRUE | FALSE:
            return text in TRUE
        raise forms.ValidationError("Must be true or false.", code="invalid")

    def validate(self, value: bool | None) -> None:
        pass


class BooleanFilter(filters.BooleanFilter):
    field_class = _StrictBooleanField

    def __init__(self, *args: object, **kwargs: object) -> None:
        # django-filter's own widget turns any other word into "no filter" before the field sees it.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)

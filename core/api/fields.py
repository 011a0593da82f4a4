"""Serializer fields shared by every app's API: one-line text, emails, one-line keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty

from core import validators


def _check(validator: Callable[[str], None], value: str) -> None:
    try:
        validator(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages, code=exc.code) from None


class _SingleLine:
    """Looks for control characters before DRF trims surrounding whitespace, so a
    trailing line break is rejected like any other rather than quietly dropped."""

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str):
            _check(validators.reject_control_characters, data)
        return super().run_validation(data)


class SingleLineCharField(_SingleLine, serializers.CharField):
    pass


class EmailAddressField(_SingleLine, serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        return validators.normalize_email(super().to_internal_value(data))


class ApiModelSerializer(serializers.ModelSerializer):
    # Every text column written through the API (names, IDs, invoice numbers, emails)
    # holds a single line.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: SingleLineCharField,
        models.EmailField: EmailAddressField,
    }


class SingleLineSlugRelatedField(_SingleLine, serializers.SlugRelatedField):
    """A record named by a one-line key. A key with control characters is refused
    before it is looked up: PostgreSQL cannot even compare a text containing NUL."""

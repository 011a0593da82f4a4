"""`{% load numbers %}`: the one rounding rule and the currency in templates
(core/numbers.py): `{{ amount|money }}`, `{{ invoice.amount|money:2 }}`,
`{{ share|percent }}`, `{{ count|number }}`, `{% currency_code %}`."""

from __future__ import annotations

from collections.abc import Callable
from decimal import InvalidOperation

from django import template

from core import numbers

register = template.Library()


def _quietly(format_: Callable[..., str], value: object, places: object) -> str:
    """Like Django's own filters, a value that is no number shows as an empty string
    rather than breaking the page."""
    if value is None:
        return numbers.NONE
    try:
        return format_(value, int(places))
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def money(amount, places: int = 0) -> str:
    return _quietly(numbers.format_money, amount, places)


@register.filter
def percent(share, places: int = 0) -> str:
    return _quietly(numbers.format_percent, share, places)


@register.filter
def number(value, places: int = 0) -> str:
    return _quietly(numbers.format_number, value, places)


@register.simple_tag
def currency_code() -> str:
    return numbers.currency_code()

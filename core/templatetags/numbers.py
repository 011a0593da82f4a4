"""`{% load numbers %}`: the one rounding rule and the currency in templates
(core/numbers.py): `{{ amount|money }}`, `{{ invoice.amount|money:2 }}`,
`{{ share|percent }}`, `{{ count|number }}`, `{% currency_code %}`."""

from __future__ import annotations

from django import template

from core import numbers

register = template.Library()


@register.filter
def money(amount, places: int = 0) -> str:
    return numbers.format_money(amount, int(places))


@register.filter
def percent(share, places: int = 0) -> str:
    return numbers.format_percent(share, int(places))


@register.filter
def number(value, places: int = 0) -> str:
    return numbers.format_number(value, int(places))


@register.simple_tag
def currency_code() -> str:
    return numbers.currency_code()

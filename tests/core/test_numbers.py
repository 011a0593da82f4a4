"""The one rounding rule (half-up) and the one currency, as pages, emails and exports
use them (core/numbers.py and its template filters)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.numbers import format_money, format_number, format_percent, round_half_up


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("215592.50"), 0, Decimal("215593")),  # the 215,592 vs 215,593
        (Decimal("215592.49"), 0, Decimal("215592")),
        (Decimal("2.5"), 0, Decimal("3")),  # half-up, not banker's (which gives 2)
        (Decimal("-2.5"), 0, Decimal("-3")),  # halves go away from zero
        (0.1235, 3, Decimal("0.124")),  # a float is read as it prints
        (11 / 12, 3, Decimal("0.917")),
        (7, 2, Decimal("7.00")),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(value, places, expected):
    assert round_half_up(value, places) == expected


def test_money_carries_the_currency_symbol_and_groups_thousands(settings):
    settings.CURRENCY = "EUR"
    assert format_money(Decimal("215592.50")) == "€215,593"
    assert format_money(Decimal("-1200.5"), 2) == "-€1,200.50"
    assert format_money(None) == "—"


def test_a_currency_without_a_symbol_is_written_by_its_code(settings):
    settings.CURRENCY = "SEK"
    assert format_money(1200) == "SEK\u00a01,200"
    settings.CURRENCY = "USD"
    assert format_money(1200) == "$1,200"


def test_percent_and_number_use_the_same_rule():
    assert format_percent(0.125) == "13%"  # Python's round() would say 12
    assert format_percent(0.9165, 1) == "91.7%"
    assert format_percent(None) == "—"
    assert format_number(Decimal("1234.5")) == "1,235"


def test_the_template_filters_agree_with_the_python_functions(settings):
    settings.CURRENCY = "GBP"
    html = Template(
        "{% load numbers %}{{ amount|money }} {{ amount|money:2 }} {{ share|percent }} {% currency_code %}"
    ).render(Context({"amount": Decimal("215592.50"), "share": 0.125}))
    assert html == "£215,593 £215,592.50 13% GBP"


def test_a_value_that_is_no_number_shows_empty_rather_than_breaking_the_page():
    html = Template("{% load numbers %}[{{ text|money }}][{{ nothing|percent }}]").render(
        Context({"text": "n/a", "nothing": None})
    )
    assert html == "[][—]"


def test_a_currency_that_is_no_iso_code_stops_start_up_naming_it(tmp_path):
    from tests.test_settings import PRODUCTION_KEY, SETTINGS_AS_JSON, run_with

    result = run_with(tmp_path, ["-c", SETTINGS_AS_JSON], CURRENCY="euros", SECRET_KEY=PRODUCTION_KEY)
    assert result.returncode != 0
    assert "CURRENCY: 'EUROS' is not an ISO 4217 code" in result.stderr

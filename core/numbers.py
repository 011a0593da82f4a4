"""The one rounding rule and the one currency, for every page, email and export.

Rounding is half-up ("commercial" rounding: 0.5 goes up, -0.5 goes down to -1), the
rule people expect on invoices and the one Django's `floatformat` applies, done on
Decimals so that 215,592.50 is never 215,592 in one place and 215,593 in another.
Amounts are in `settings.CURRENCY` (an ISO 4217 code); pages and emails show its
symbol, exports name the code in a column of their own."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

# Symbols for the common codes; any other code is written before the amount ("SEK 1,200").
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥", "KRW": "₩"}
NONE = "—"


def round_half_up(value: Decimal | float | int, places: int = 0) -> Decimal:
    """`value` rounded to `places` decimals, halves away from zero. Floats are read as
    they print (0.1235 is 0.1235, not its binary neighbour), so 0.1235 → 0.124."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def currency_code() -> str:
    return settings.CURRENCY


def currency_symbol() -> str:
    code = currency_code()
    return SYMBOLS.get(code, f"{code}\u00a0")


def format_number(value: Decimal | float | int | None, places: int = 0) -> str:
    """A number for people: rounded half-up, thousands grouped ("215,593")."""
    if value is None:
        return NONE
    return f"{round_half_up(value, places):,.{places}f}"


def format_money(amount: Decimal | float | int | None, places: int = 0) -> str:
    """An amount in the currency, rounded half-up to `places` decimals: "€215,593",
    "-€1,200.50", "SEK 1,200"; an em dash for None."""
    if amount is None:
        return NONE
    rounded = round_half_up(amount, places)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{currency_symbol()}{abs(rounded):,.{places}f}"


def format_percent(share: float | Decimal | None, places: int = 0) -> str:
    """A share 0–1 as a percentage rounded half-up: 0.9165 → "92%" (places=1: "91.7%")."""
    if share is None:
        return NONE
    return f"{round_half_up(Decimal(str(share)) * 100, places)}%"

"""The insights filters: one form for the page and the summary API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms

from customers.models import Tier
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from customers.queries import account_managers, sees_everything, visible_customers
from surveys.models import Survey

from . import figures

MAX_PERIOD_DAYS = 3 * 366
EARLIEST = date(2000, 1, 1)


class InsightFilterForm(forms.Form):
    """Period, tier, account manager and survey. Every field is optional: an empty one
    means the last 90 days, all tiers, every manager, every survey. `from` is a Python
    keyword, so the period's fields are added by name."""

    tier = forms.TypedChoiceField(
        choices=[("", "All tiers"), *Tier.choices], coerce=int, empty_value=None, required=False,
        error_messages={"invalid_choice": "Choose a tier from 1 to 4."},
    )
    account_manager = forms.ModelChoiceField(
        queryset=None, to_field_name="username", required=False,
        error_messages={"invalid_choice": "No account manager has that username."},
    )
    survey = forms.ModelChoiceField(
        queryset=Survey.objects.order_by("name"), to_field_name="slug", required=False,
        error_messages={"invalid_choice": "No survey has that slug."},
    )

    def __init__(self, data=None, *, today: date, user: AbstractBaseUser | AnonymousUser) -> None:
        super().__init__(data)
        self.today = today
        # Staff count every customer; anyone else the customers they may read.
        self.book = None if sees_everything(user) else visible_customers(user)
        dates = {"invalid": "Enter a date as YYYY-MM-DD."}
        self.fields["from"] = forms.DateField(required=False, error_messages=dates, label="From")
        self.fields["to"] = forms.DateField(required=False, error_messages=dates, label="To")
        self.fields["account_manager"].queryset = account_managers()
        self.order_fields(["from", "to", "tier", "account_manager", "survey"])

    def clean(self) -> dict:
        data = super().clean()
        if self.has_error("from") or self.has_error("to"):
            return data
        date_to = data.get("to") or self.today
        date_from = data.get("from") or figures.InsightFilters.default(today=date_to).date_from
        if date_from < EARLIEST:
            self.add_error("from", f"Choose a date from {EARLIEST:%Y-%m-%d} on.")
        elif date_from > date_to:
            self.add_error("to", "The period ends before it starts: choose a date on or after “from”.")
        elif (date_to - date_from).days >= MAX_PERIOD_DAYS:
            self.add_error("from", "Choose a period of at most three years.")
        data["from"], data["to"] = date_from, date_to
        return data

    def filters(self) -> figures.InsightFilters:
        """The filters asked for. One that is not valid is left out, its default applying
        (the last 90 days, every tier, manager or survey), and the page shows its error
        on the form beside it (`not_applied`); the valid ones still apply."""
        default = figures.InsightFilters.default(today=self.today, book=self.book)
        if not self.is_bound:
            return default
        self.is_valid()
        data = self.cleaned_data
        period_applies = not self.period_rejected
        return figures.InsightFilters(
            date_from=data["from"] if period_applies else default.date_from,
            date_to=data["to"] if period_applies else default.date_to,
            tier=data.get("tier"),
            account_manager=data.get("account_manager"),
            survey=data.get("survey"),
            book=self.book,
        )

    @property
    def period_rejected(self) -> bool:
        """Whether the period asked for is left out: the form then shows both dates as typed."""
        return self.is_bound and (self.has_error("from") or self.has_error("to"))

    def not_applied(self) -> list[NotApplied]:
        """Each filter left out for an error: its label, the errors, what is shown instead."""
        return [
            NotApplied(label=self[name].label or name.replace("_", " ").capitalize(), errors=list(errors),
                       instead=INSTEAD.get(name, "the other filters"))
            for name, errors in self.errors.items()
        ]


# What the page shows in place of a filter it could not use.
INSTEAD = {
    "from": "the last 90 days",
    "to": "the last 90 days",
    "tier": "every tier",
    "account_manager": "every account manager",
    "survey": "every survey",
}


@dataclass(frozen=True)
class NotApplied:
    label: str
    errors: list[str]
    instead: str

from __future__ import annotations

import argparse
import random
import secrets
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers import demo
from customers.models import Customer


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Loads demo customers, contacts and two years of invoices shaped like the field case "
        "(under 1% of customers bring 69% of revenue, 5% bring 97%), plus the demo logins."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--customers", type=positive_int, default=5000, help="How many customers (default 5000).")
        parser.add_argument("--seed", type=int, help="Random seed; the same seed gives the same data. Random if unset.")
        parser.add_argument("--today", type=iso_date, help="The date the demo ends on, YYYY-MM-DD (default today).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Keep existing customers and only ensure the logins."
        )

    def handle(self, *args, customers: int, seed: int | None, today: date | str | None, if_empty: bool, **options):
        # call_command() hands keyword options over unparsed.
        today = iso_date(today) if isinstance(today, str) else today or timezone.localdate()
        if Customer.objects.exists():
            if not if_empty:
                raise CommandError(
                    "Customers already exist: pass --if-empty to keep them, or flush the database first."
                )
            demo.create_users()
            self.stdout.write("Demo data already loaded")
        else:
            if seed is None:
                seed = secrets.randbelow(1_000_000)
            self.stdout.write(f"Seed {seed} (repeat with --seed {seed} --today {today.isoformat()})")
            self.report(demo.seed(customers=customers, rng=random.Random(seed), today=today))
        self.stdout.write(self.style.SUCCESS(f"Staff login: {demo.STAFF_LOGIN[0]} / {settings.DEMO_PASSWORD}"))
        self.stdout.write(
            self.style.SUCCESS(f"Account manager login: {demo.ACCOUNT_MANAGER_LOGINS[0][0]} / {settings.DEMO_PASSWORD}")
        )

    def report(self, summary: demo.SeedSummary) -> None:
        tiers = ", ".join(
            f"{'inactive' if tier is None else f'tier {tier}'}: {count:,}" for tier, count in summary.tiers.items()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {summary.customers:,} customers, {summary.contacts:,} contacts, "
                f"{summary.invoices:,} invoices.\n"
                f"Revenue of the last 12 months: top 1% of customers {summary.top_1_percent_share:.1%}, "
                f"top 5% {summary.top_5_percent_share:.1%}.\n"
                f"Tiers: {tiers}."
            )
        )

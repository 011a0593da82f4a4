from __future__ import annotations

import argparse
import random
import secrets
from datetime import date, datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Band, Customer
from demo import alerts as alert_demo
from demo import customers as customer_demo
from demo import sender as sender_demo
from demo import surveys as survey_demo
from insights.dashboard import counts, rollups
from insights.models import AlertStatus


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
        "(under 1% of customers bring 69% of revenue, 5% bring 97%), a year of deliveries, survey "
        "invitations and answers, the alerts those answers raised (worked, open and overdue), survey "
        "emails due for the worker to send, and the demo logins."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--customers", type=positive_int, default=5000, help="How many customers (default 5000).")
        parser.add_argument("--seed", type=int, help="Random seed; the same seed gives the same data. Random if unset.")
        parser.add_argument(
            "--today",
            type=iso_date,
            help="The date the demo ends on, YYYY-MM-DD (default today). The demo's clock then stands at "
            "noon of that day; without --today it is the current time.",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Keep existing customers and only ensure the logins."
        )

    def handle(self, *args, customers: int, seed: int | None, today: date | str | None, if_empty: bool, **options):
        # call_command() hands keyword options over unparsed.
        today = iso_date(today) if isinstance(today, str) else today
        # Without --today the demo ends this very moment, so the survey emails it leaves due
        # go out with the worker's next sweep; with it, at noon of that day.
        now = datetime.combine(today, time(12), tzinfo=timezone.get_current_timezone()) if today else timezone.now()
        today = today or timezone.localdate(now)
        if Customer.objects.exists():
            if not if_empty:
                raise CommandError(
                    "Customers already exist: pass --if-empty to keep them, or flush the database first."
                )
            customer_demo.create_users()
            self.stdout.write("Demo data already loaded")
        else:
            if seed is None:
                seed = secrets.randbelow(1_000_000)
            self.stdout.write(f"Seed {seed} (repeat with --seed {seed} --today {today.isoformat()})")
            # Demo data must repeat from its seed; nothing secret is drawn from it.
            rng = random.Random(seed)  # nosec B311
            with transaction.atomic():
                sender = sender_demo.seed_sender()
                summary = customer_demo.seed(customers=customers, rng=rng, today=today)
                surveys = survey_demo.seed_surveys(rng=rng, today=today, now=now)
                alerts = alert_demo.seed_alerts(rng=rng, now=now)
            # The answers were loaded in bulk, around the model's save: what the insights read, from them.
            rollups.rebuild()
            counts.rebuild()
            self.report(summary)
            self.report_surveys(surveys)
            self.report_alerts(alerts)
            self.stdout.write(
                self.style.SUCCESS(f"Survey emails and pages come from {sender.name} (Admin → Surveys → Senders).")
            )
        staff, manager = customer_demo.STAFF_LOGIN[0], customer_demo.ACCOUNT_MANAGER_LOGINS[0][0]
        self.stdout.write(self.style.SUCCESS(f"Staff login: {staff} / {settings.DEMO_PASSWORD}"))
        self.stdout.write(self.style.SUCCESS(f"Account manager login: {manager} / {settings.DEMO_PASSWORD}"))

    def report(self, summary: customer_demo.SeedSummary) -> None:
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

    def report_surveys(self, summary: survey_demo.SurveySeedSummary) -> None:
        bands = (
            f"promoters {summary.band_share(Band.PROMOTER):.0%}, satisfied {summary.band_share(Band.SATISFIED):.0%}, "
            f"at risk {summary.band_share(Band.AT_RISK):.0%}"
        )
        suppressed = ", ".join(
            f"{reason.replace('_', ' ')} {count:,}"
            for reason, count in sorted(summary.suppressed.items(), key=lambda item: -item[1])
        )
        where = ""
        if settings.EMAIL_BACKEND == "core.mailbox.MailboxBackend":
            where = f" to {settings.SITE_URL}{reverse('mailbox')}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {summary.deliveries:,} deliveries, {summary.answers:,} answers ({bands}); "
                f"{summary.due_now:,} survey emails due now will be sent by the worker{where}.\n"
                f"Invitations: {summary.invitations_sent:,} sent, {summary.response_rate:.0%} answered; "
                f"{sum(summary.suppressed.values()):,} suppressed ({suppressed or 'none'}); "
                f"{summary.due_later:,} more due within the hour."
            )
        )

    def report_alerts(self, summary: alert_demo.AlertSeedSummary) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Raised {summary.alerts:,} alerts: {summary.count(AlertStatus.OPEN):,} open "
                f"({summary.overdue:,} overdue), {summary.count(AlertStatus.ACKNOWLEDGED):,} acknowledged, "
                f"{summary.count(AlertStatus.RESOLVED):,} resolved."
            )
        )

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from customers.models import Customer
from customers.services import recompute_value_metrics


class Command(BaseCommand):
    help = "Recomputes every customer's value metrics (trailing 12 months) and Pareto tier."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Compute as of this date (YYYY-MM-DD); default today.")

    def handle(self, *args, as_of: str | None = None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(f"--as-of: '{as_of}' is not a date in YYYY-MM-DD form.") from None
        updated = recompute_value_metrics(as_of=day)
        self.stdout.write(self.style.SUCCESS(f"Recomputed value metrics: {updated} customers changed."))
        tiers = Customer.objects.values("tier").annotate(customers=Count("pk")).order_by("tier")
        for row in tiers:
            label = f"Tier {row['tier']}" if row["tier"] else "No tier (inactive)"
            self.stdout.write(f"  {label}: {row['customers']}")

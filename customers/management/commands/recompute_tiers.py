from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from customers.models import Customer
from customers.services import recompute_value_metrics, recompute_value_metrics_nightly


class Command(BaseCommand):
    help = (
        "Recomputes customers' value metrics (trailing 12 months) and every Pareto tier, as the "
        "nightly run does: only the customers whose figures the days since the last run can have "
        "moved (every customer on the first run and when the last full run is a week old). "
        "--full reads every customer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Compute as of this date (YYYY-MM-DD); default today.")
        parser.add_argument("--full", action="store_true", help="Recompute every customer from all its invoices.")

    def handle(self, *args, as_of: str | None = None, full: bool = False, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(f"--as-of: '{as_of}' is not a date in YYYY-MM-DD form.") from None
        if full:
            updated = recompute_value_metrics(as_of=day)
            self.stdout.write(self.style.SUCCESS(f"Full recompute: {updated} customers changed."))
        else:
            night = recompute_value_metrics_nightly(as_of=day)
            read = "every customer read" if night.full else f"since {night.since}, {night.read} customers read"
            self.stdout.write(self.style.SUCCESS(f"Nightly recompute ({read}): {night.written} customers changed."))
        tiers = Customer.objects.values("tier").annotate(customers=Count("pk")).order_by("tier")
        for row in tiers:
            label = f"Tier {row['tier']}" if row["tier"] else "No tier (inactive)"
            self.stdout.write(f"  {label}: {row['customers']}")

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.validators import MinValueValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .value import days_since_epoch

# The staff group that receives alerts of customers without an account manager, and escalations.
CX_LEADS_GROUP = "CX leads"


class Band(models.TextChoices):
    """Satisfaction bands. Defined here because the customer keeps its latest one;
    `surveys` classifies answers into them."""

    PROMOTER = "promoter", "Promoter"
    SATISFIED = "satisfied", "Satisfied"
    AT_RISK = "at_risk", "At risk"


class Tier(models.IntegerChoices):
    ONE = 1, "Tier 1"
    TWO = 2, "Tier 2"
    THREE = 3, "Tier 3"
    FOUR = 4, "Tier 4"

    @property
    def is_high_value(self) -> bool:
        """Tiers 1–2: their churn risk is flagged high-value; the insights' "high value"."""
        return self in HIGH_VALUE_TIERS


# For queries (`tier__in=HIGH_VALUE_TIERS`); Tier.is_high_value reads it.
HIGH_VALUE_TIERS = (Tier.ONE, Tier.TWO)


def validate_time_zone(value: str) -> None:
    if value and value not in available_timezones():
        raise ValidationError(f'"{value}" is not a time zone name; use an IANA name such as Europe/Madrid.')


class Customer(models.Model):
    external_id = models.CharField("external ID", max_length=100, unique=True)
    name = models.CharField(max_length=200)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    cost_to_serve = models.DecimalField(
        "annual cost to serve",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    is_active = models.BooleanField("active", default=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        validators=[validate_time_zone],
        help_text="Where the customer reads email (an IANA name such as Europe/Madrid), for surveys' sending "
        "windows; empty: the DEFAULT_CUSTOMER_TIME_ZONE setting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Value metrics, derived from invoices by customers.services.recompute_value_metrics.
    revenue_12m = models.DecimalField(
        "revenue (12 months)", max_digits=14, decimal_places=2, default=Decimal("0")
    )
    on_time_rate = models.FloatField(
        "on-time payment rate", null=True, blank=True, help_text="Share 0–1; empty with no due invoices."
    )
    # Lateness is kept in parts that stand still from one day to the next, although an
    # unpaid invoice past due grows a day later each day: `avg_days_late_on(day)` adds
    # them up for the day it is read, so the nightly recompute writes only the customers
    # whose invoices moved (a payment, an invoice in or out of the 12 months, one falling
    # due), not the two in five with one overdue. Over the same invoices as on_time_rate.
    decided_invoices = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Invoices whose outcome is known: paid, or unpaid and past due."
    )
    days_late_paid = models.PositiveBigIntegerField(
        default=0, db_default=0, help_text="Days past due of the paid ones, added up (0 for each paid on time)."
    )
    overdue_invoices = models.PositiveIntegerField(
        default=0, db_default=0, help_text="The unpaid ones past due."
    )
    overdue_due_days = models.BigIntegerField(
        default=0, db_default=0, help_text="The unpaid ones' due dates added up, each in days since 1970-01-01."
    )
    net_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tier = models.PositiveSmallIntegerField(
        choices=Tier.choices, null=True, blank=True, help_text="Empty for inactive customers."
    )
    metrics_updated_at = models.DateTimeField(null=True, blank=True)

    # Latest answer, kept current by `surveys` so nothing here imports it. Not indexed:
    # every answer updates them, and with none of its columns indexed (and the table's
    # fillfactor leaving room) that update is HOT, writing no index entry (issue 15).
    latest_score = models.PositiveSmallIntegerField(null=True, blank=True)
    latest_band = models.CharField(max_length=10, choices=Band.choices, blank=True)
    latest_answer_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # Also the nightly ranking of every customer (customers.services._update_tiers):
            # read in revenue order from the index alone, without a sort.
            models.Index(fields=["-revenue_12m"], include=["id", "is_active", "tier"], name="customer_ranking_idx"),
            # The nightly recompute reads the customers never measured (added in SQL).
            models.Index(fields=["id"], condition=models.Q(metrics_updated_at__isnull=True), name="customer_unmeasured_idx"),
            models.Index(fields=["tier", "-revenue_12m"], name="customer_tier_revenue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cost_to_serve__isnull=True) | models.Q(cost_to_serve__gte=0),
                name="customer_cost_to_serve_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_high_value(self) -> bool:
        return self.tier is not None and Tier(self.tier).is_high_value

    def avg_days_late_on(self, day: date) -> float | None:
        """Average days past due of the invoices counted in on_time_rate, as of `day`:
        an unpaid one counts the days from its due date to `day`. Empty with none."""
        if not self.decided_invoices:
            return None
        overdue_days = self.overdue_invoices * days_since_epoch(day) - self.overdue_due_days
        return (self.days_late_paid + overdue_days) / self.decided_invoices

    @property
    def avg_days_late(self) -> float | None:
        """Average days late today (TIME_ZONE), as every page, export and API call shows it."""
        return self.avg_days_late_on(timezone.localdate())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.DEFAULT_CUSTOMER_TIME_ZONE)


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"


class OptOutReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    COMPLAINED = "complained", "Marked a survey as spam"
    STAFF = "staff", "Opted out by staff"
    # Staff erased the contact on request (GDPR Article 17): never surveyed again.
    ERASED = "erased", "Erased on request"


class UndeliverableReason(models.TextChoices):
    BOUNCED = "bounced", "Hard bounce"
    SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"


class UnreachableReason(models.TextChoices):
    """Why no survey may go to a contact. The invitations' suppression reasons bear
    the same names."""

    OPTED_OUT = "opted_out", "Opted out"
    COMPLAINED = "complained", "Complained"
    BOUNCED = "bounced", "Bounced"


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    opted_out = models.BooleanField("opted out", default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    # The database default too, so rows inserted in SQL (benchmark data) need not name them.
    opt_out_reason = models.CharField(
        max_length=12, choices=OptOutReason.choices, blank=True, default="", db_default=""
    )
    # Set for every contact with the address (any customer) when the provider reports it bad.
    undeliverable_at = models.DateTimeField(null=True, blank=True)
    undeliverable_reason = models.CharField(
        max_length=12, choices=UndeliverableReason.choices, blank=True, default="", db_default=""
    )
    reenabled_at = models.DateTimeField(
        "re-enabled at",
        null=True,
        blank=True,
        help_text="When staff last cleared the address; soft bounces before it no longer count.",
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When staff erased the contact on request: name, address and comments are gone for good.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(
                "customer", Lower("email"), name="contact_email_unique_per_customer"
            ),
        ]
        indexes = [
            # Delivery events name an address, whichever customers have it.
            models.Index(Lower("email"), name="contact_email_lower_idx"),
        ]

    def __str__(self) -> str:
        if self.erased_at is not None:
            return f"Erased contact #{self.pk}"
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def unreachable_reason(self) -> str:
        """"opted_out", "complained", "bounced", or "" while surveys may reach the contact.
        Their own choice (or complaint) comes first: staff can clear a bounce, not that."""
        if self.opted_out and self.opt_out_reason == OptOutReason.COMPLAINED:
            return UnreachableReason.COMPLAINED
        if self.opted_out:
            return UnreachableReason.OPTED_OUT
        if self.undeliverable_at is not None:
            return UnreachableReason.BOUNCED
        return ""

    @property
    def unreachable_since(self) -> datetime | None:
        if self.opted_out:
            return self.opted_out_at
        return self.undeliverable_at


class Invoice(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(max_length=64)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    issued_on = models.DateField()
    due_on = models.DateField()
    paid_on = models.DateField(null=True, blank=True, help_text="Empty while unpaid.")

    class Meta:
        ordering = ["-issued_on", "number"]
        indexes = [
            models.Index(fields=["customer", "issued_on"], name="invoice_customer_issued_idx"),
            # The nightly recompute finds the invoices that entered or left the 12 months
            # and the unpaid ones that fell due since the last night (value.moved_by_calendar).
            models.Index(fields=["issued_on"], name="invoice_issued_idx"),
            models.Index(fields=["due_on"], condition=models.Q(paid_on__isnull=True), name="invoice_unpaid_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "number"], name="invoice_number_unique_per_customer"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="invoice_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("issued_on")), name="invoice_due_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_paid(self) -> bool:
        return self.paid_on is not None

    def payment_status(self, as_of: date) -> str:
        """"paid", "unpaid" (not yet due) or "overdue" on `as_of`."""
        if self.is_paid:
            return "paid"
        return "overdue" if self.due_on < as_of else "unpaid"

    def days_late(self, as_of: date) -> int:
        """Days past due: at payment when paid, as of `as_of` while unpaid; never negative."""
        settled = self.paid_on or as_of
        return max(0, (settled - self.due_on).days)


class MetricsDay(models.Model):
    """The one row saying how far the stored value metrics are true: every customer's
    figures are as of `as_of` or a later day (an invoice written since recomputes its
    customer as of that day), so the nightly recompute reads only the customers whose
    figures the calendar can have moved since (customers.services.recompute_value_metrics_nightly).
    `full_as_of` is the day of the last recompute of every customer. Its row (the one,
    pk 1) is locked by every recompute, which serialises them."""

    # Empty until the first recompute.
    as_of = models.DateField(null=True)
    full_as_of = models.DateField(null=True)

    def __str__(self) -> str:
        return f"Value metrics as of {self.as_of} (all recomputed as of {self.full_as_of})"

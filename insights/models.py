from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Band, Customer, Tier
from surveys.models import Response, Survey


class AlertKind(models.TextChoices):
    AT_RISK = "at_risk", "At risk"
    DECLINE = "decline", "Decline"
    # No answer behind it: a tier 1–2 customer none of whose contacts can be surveyed.
    UNREACHABLE = "unreachable", "Unreachable"


class ContactLoss(models.TextChoices):
    """Why an unreachable alert's contact can no longer be surveyed (alerts.rules puts
    it in words)."""

    BOUNCED = "bounced", "Hard bounce"
    SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
    COMPLAINED = "complained", "Spam complaint"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Priority(models.IntegerChoices):
    CRITICAL = 1, "Critical"
    HIGH = 2, "High"
    MEDIUM = 3, "Medium"
    LOW = 4, "Low"


class Alert(models.Model):
    """A churn-risk alert, ranked by what the customer is worth: raised by an answer
    (at risk, decline), or by a high-value customer none of whose contacts can be
    surveyed any more (unreachable: no answer, no score; the contact lost is named).

    Tier, revenue and punctuality are kept as they stood when it was raised, so the rank
    and its explanation do not move under the person working it; the scores, the kind
    and so the priority follow the answer when the respondent changes it.
    """

    response = models.ForeignKey(
        Response,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        help_text="The answer that raised it; empty for an unreachable alert.",
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="alerts")
    # The answer's survey, copied onto the alert when it is raised (an answer's survey
    # never changes), so that the insights' survey filter counts alerts without reading
    # each one's answer (a lookup per alert being worked, which grew with them).
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="+", editable=False,
        help_text="The answer's survey; empty for an unreachable alert.",
    )
    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    high_value = models.BooleanField(
        "high-value churn risk", default=False, help_text="The customer is tier 1 or 2."
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        help_text="The account manager; empty means the CX leads.",
    )

    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    revenue_12m = models.DecimalField("revenue (12 months)", max_digits=14, decimal_places=2)
    on_time_rate = models.FloatField("on-time payment rate", null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty for an unreachable alert.")
    previous_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The customer's answer before this one."
    )
    # An unreachable alert's contact, as it stood: the last one lost to a bounce or a
    # complaint (the address may change or the contact go; the alert still says why).
    lost_contact_email = models.EmailField(blank=True)
    lost_contact_reason = models.CharField(max_length=12, choices=ContactLoss.choices, blank=True)
    lost_contact_at = models.DateTimeField(null=True, blank=True, help_text="When it bounced or complained.")

    # Set while the answer, changed since, no longer calls for the alert (it left the
    # at-risk band, or no longer falls sharply); the alert stays until a person resolves it.
    answer_recovered_at = models.DateTimeField(
        "no longer at risk since", null=True, blank=True, help_text="When the changed answer stopped calling for it."
    )

    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="Acknowledgement is due by then (the tier's window).")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the assignee was emailed.")
    escalation_notified_at = models.DateTimeField(null=True, blank=True, help_text="When the CX leads were emailed.")
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    webhook_error = models.TextField(blank=True)
    # When the outgoing webhook is (re)tried; empty: nothing to send (no webhook
    # configured when the alert was raised, sent, or given up on).
    webhook_next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who handed the alert to its assignee, and why: the assignee's email says so.
    # Empty while it is with the person it was raised for.
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handover_reason = models.TextField(max_length=4000, blank=True)

    class Meta:
        ordering = ["priority", "-revenue_12m", "created_at"]
        indexes = [
            models.Index(fields=["status", "priority", "-revenue_12m", "created_at"], name="alert_queue_idx"),
            # The queue (alerts.queries.alert_queue): what is still being worked, in its order,
            # so that a page of it is read by index however many alerts there are.
            models.Index(
                fields=["priority", "-revenue_12m", "created_at", "id"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="alert_unresolved_queue_idx",
            ),
            # The alerts being worked, counted by the insights (figures.alert_counts).
            models.Index(
                fields=["survey", "status"], include=["due_at"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="alert_unresolved_survey_idx",
            ),
            models.Index(fields=["assignee", "status"], name="alert_assignee_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="alert_customer_idx"),
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="open", escalated_at__isnull=True),
                name="alert_escalation_due_idx",
            ),
            models.Index(fields=["created_at"], condition=models.Q(notified_at__isnull=True), name="alert_unnotified_idx"),
            models.Index(
                fields=["escalated_at"],
                condition=models.Q(escalated_at__isnull=False, escalation_notified_at__isnull=True),
                name="alert_escalation_unsent_idx",
            ),
            models.Index(
                fields=["webhook_next_attempt_at"],
                condition=models.Q(webhook_next_attempt_at__isnull=False),
                name="alert_webhook_due_idx",
            ),
        ]
        constraints = [
            # One at-risk alert (and one decline alert) per answer, whatever races.
            models.UniqueConstraint(fields=["response", "kind"], name="alert_one_per_response_and_kind"),
            # One unreachable alert being worked per customer, whatever races.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(kind="unreachable", status__in=["open", "acknowledged"]),
                name="alert_one_unresolved_unreachable_per_customer",
            ),
            # An answer's alert has its answer, score and survey; an unreachable alert has none.
            models.CheckConstraint(
                condition=(
                    models.Q(kind="unreachable", response__isnull=True, score__isnull=True, survey__isnull=True)
                    | (
                        ~models.Q(kind="unreachable")
                        & models.Q(response__isnull=False, score__isnull=False, survey__isnull=False)
                    )
                ),
                name="alert_answer_with_its_survey_unless_unreachable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} alert for {self.customer}"

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status == AlertStatus.OPEN and (now or timezone.now()) >= self.due_at

    @property
    def needs_attention(self) -> bool:
        """Not resolved, and either past its acknowledgement time or already escalated:
        the queue highlights it."""
        return self.status != AlertStatus.RESOLVED and (self.escalated_at is not None or self.is_overdue())


class NoteKind(models.TextChoices):
    NOTE = "note", "Note"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    REASSIGNED = "reassigned", "Reassigned"
    REVISED = "revised", "Answer changed"
    # A suspect answer (a possible scanner) the account manager confirmed as a person's.
    CONFIRMED = "confirmed", "Confirmed"
    ESCALATED = "escalated", "Escalated"
    REOPENED = "reopened", "Reopened"
    # An unreachable alert's customer can be surveyed again, or no longer.
    REACHABLE = "reachable", "Reachable again"
    UNREACHABLE = "unreachable", "Unreachable"


class AlertNote(models.Model):
    """The alert's history: who did what, when, in their words."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, help_text="Empty: ValuePulse."
    )
    kind = models.CharField(max_length=12, choices=NoteKind.choices, default=NoteKind.NOTE)
    text = models.TextField(max_length=4000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class AtRiskClosure(models.Model):
    """Staff took a tier 1 customer off the customers at risk for one at-risk answer
    (alerts.queries.customers_at_risk): who, when and why. A later at-risk answer puts
    the customer back; a better one takes them off by itself."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="at_risk_closures")
    response = models.OneToOneField(
        Response, on_delete=models.CASCADE, related_name="at_risk_closure", help_text="The at-risk answer it closed."
    )
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    closed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(max_length=4000)

    class Meta:
        indexes = [models.Index(fields=["customer", "-closed_at"], name="at_risk_closure_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer} off the at-risk list since {self.closed_at:%Y-%m-%d}"


class CountedAnswers(models.Model):
    """How many settled answers of one survey, tier, account manager and band."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    band = models.CharField(max_length=10, choices=Band.choices)
    answers = models.PositiveIntegerField()

    class Meta:
        abstract = True


class AnswerCount(CountedAnswers):
    """Settled answers counted by day, survey, tier, account manager and band: what the
    insights read for the days whose answers can no longer change, instead of every
    answer (see dashboard/counts.py). Tier and account manager are the customer's at
    the last rebuild; suspect answers are left out, as everywhere in the insights."""

    day = models.DateField(help_text="In TIME_ZONE.")

    class Meta:
        indexes = [
            models.Index(
                fields=["day"], include=["survey", "tier", "account_manager", "band", "answers"],
                name="answer_count_day_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.answers} {self.band} on {self.day}"


class AnswerCountSpan(models.TextChoices):
    MONTH = "month", "Calendar month"
    # A week (Monday to Sunday) cut at the month's edges, so that each belongs to one
    # month and to one week: what a weekly chart and the ends of a monthly one sum.
    WEEK_PART = "week_part", "Week within a month"


class SpanAnswerCount(CountedAnswers):
    """AnswerCount summed over whole settled months and week parts, made with it, so that
    a long period reads a few hundred rows a month instead of a few hundred a day
    (dashboard/counts.py, figures.settled_counts)."""

    span = models.CharField(max_length=10, choices=AnswerCountSpan.choices)
    start = models.DateField(help_text="Its first day.")

    class Meta:
        indexes = [
            models.Index(
                fields=["span", "start"], include=["survey", "tier", "account_manager", "band", "answers"],
                name="span_answer_count_start_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.answers} {self.band} in the {self.span} from {self.start}"


class AnswerCountState(models.Model):
    """The one row (pk 1) saying which days AnswerCount holds, and when and in which
    time zone it was built."""

    settled_before = models.DateField(
        null=True, blank=True, help_text="AnswerCount holds every day before this one; empty: not built yet."
    )
    built_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Answer counts before {self.settled_before}"


# Stands for "any survey" in LatestAnswer.survey_key (survey ids start at 1).
ANY_SURVEY = 0


class LatestAnswer(models.Model):
    """Each customer's latest counted (not suspect) answer, to each survey (survey_key:
    the survey's id) and to any survey (survey_key 0): what the insights read for
    "customers by their latest answer" instead of every answer. Kept on write, one
    statement per saved answer (dashboard/rollups.py)."""

    # No index of its own: the unique constraint's index starts with the customer.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="latest_answers", db_index=False)
    survey_key = models.PositiveIntegerField(help_text="The survey's id; 0: any survey.")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    band = models.CharField(max_length=10, choices=Band.choices)
    score = models.PositiveSmallIntegerField()
    submitted_at = models.DateTimeField()
    # The customer as LatestAnswerCount counts this row, copied from it on write and
    # whenever customers announce a change (dashboard/latest_counts.py).
    tier_key = models.PositiveSmallIntegerField(db_default=0, help_text="The customer's tier; 0: none.")
    manager_key = models.PositiveIntegerField(db_default=0, help_text="The account manager's id; 0: none.")
    revenue = models.DecimalField(max_digits=14, decimal_places=2, db_default=Decimal("0"))
    active = models.BooleanField(db_default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "survey_key"], name="latest_answer_one_per_customer_survey"),
        ]
        indexes = [
            models.Index(
                fields=["survey_key", "submitted_at"], include=["customer", "band", "score"],
                name="latest_answer_recent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}'s latest answer ({self.survey_key or 'any survey'}): {self.score}"


class LatestAnswerSpan(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Calendar month"


class LatestAnswerCount(models.Model):
    """Active customers counted by the day and by the month of their latest answer
    (LatestAnswer), by survey key, tier, account manager and band, with their 12-month
    revenue summed: "customers by their latest answer" for staff reads whole months and
    the days of two months, however many customers answered (dashboard/latest_counts.py).
    Kept on write with LatestAnswer, from the customer as its rows copy it; a row whose
    customers fell to 0 stays until the next rebuild."""

    span = models.CharField(max_length=5, choices=LatestAnswerSpan.choices)
    start = models.DateField(help_text="The day, or the month's first day, in TIME_ZONE.")
    survey_key = models.PositiveIntegerField(help_text="The survey's id; 0: any survey.")
    tier_key = models.PositiveSmallIntegerField(help_text="The customer's tier; 0: none.")
    manager_key = models.PositiveIntegerField(help_text="The account manager's id; 0: none.")
    band = models.CharField(max_length=10, choices=Band.choices)
    customers = models.IntegerField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey_key", "span", "start", "tier_key", "manager_key", "band"],
                name="latest_answer_count_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customers} customers latest {self.band} in the {self.span} from {self.start}"


class RecentAnswerCount(models.Model):
    """Answers of the days not settled yet (the last fortnight or so) by day, survey,
    tier, account manager and band, as AnswerCount counts the settled ones: rebuilt
    with it, and kept on write, one upsert per saved answer (dashboard/counts.py).
    Tier and manager are keys, 0 for none, so that the upsert finds its row."""

    day = models.DateField(help_text="In TIME_ZONE.")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    tier_key = models.PositiveSmallIntegerField(help_text="The customer's tier; 0: none.")
    manager_key = models.PositiveIntegerField(help_text="The account manager's id; 0: none.")
    band = models.CharField(max_length=10, choices=Band.choices)
    answers = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "survey", "tier_key", "manager_key", "band"], name="recent_answer_count_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.answers} {self.band} on {self.day}"


class CountedInvitations(models.Model):
    """How many invitations of one survey, tier and account manager were sent, and how
    many of them answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()

    class Meta:
        abstract = True


class InvitationCount(CountedInvitations):
    """Invitations sent on each day before the last rebuild's, by survey, tier and
    account manager, and how many of them were answered: the response rate without
    reading every invitation. Rebuilt with AnswerCount (dashboard/counts.py); an answer
    to one of them adds itself on write."""

    day = models.DateField(help_text="The day it was sent, in TIME_ZONE.")

    class Meta:
        indexes = [
            models.Index(
                fields=["day"], include=["survey", "tier", "account_manager", "sent", "answered"],
                name="invitation_count_day_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.answered} of {self.sent} answered on {self.day}"


class SpanInvitationCount(CountedInvitations):
    """InvitationCount summed over whole settled months and week parts, made with it, as
    SpanAnswerCount is with AnswerCount, so that a year's response rate reads a few rows
    a month instead of a few dozen a day (dashboard/counts.py, figures.invitations_counted).
    A settled day's invitations are all closed (none can be answered any more), so these
    rows never change between rebuilds."""

    span = models.CharField(max_length=10, choices=AnswerCountSpan.choices)
    start = models.DateField(help_text="Its first day.")

    class Meta:
        indexes = [
            models.Index(
                fields=["span", "start"], include=["survey", "tier", "account_manager", "sent", "answered"],
                name="span_invitation_count_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.answered} of {self.sent} answered in the {self.span} from {self.start}"

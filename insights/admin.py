from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from core import retry
from core.admin import AuditTrailAdmin
from core.queue import enqueue_on_commit

from .alerts import rules, services
from .dashboard import counts
from .models import Alert, AlertNote, AnswerCount, AnswerCountState, AtRiskClosure

REBUILD_ANSWER_COUNTS = "insights.tasks.rebuild_answer_counts"


class EscalatedFilter(admin.SimpleListFilter):
    title = "escalated"
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Escalated"), ("no", "Not escalated")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() in ("yes", "no"):
            return queryset.filter(escalated_at__isnull=self.value() == "no")
        return queryset


class NotificationFilter(admin.SimpleListFilter):
    """Emails not sent yet: normal for a minute, a sign of trouble (SMTP down, no CX
    lead with an address) when they pile up."""

    title = "notification"
    parameter_name = "notification"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("unsent", "Assignee not emailed yet"), ("escalation_unsent", "Escalation not emailed yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() == "unsent":
            return queryset.filter(notified_at__isnull=True)
        if self.value() == "escalation_unsent":
            return queryset.filter(escalated_at__isnull=False, escalation_notified_at__isnull=True)
        return queryset


class WebhookFilter(admin.SimpleListFilter):
    title = "webhook"
    parameter_name = "webhook"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed, not delivered"),
            ("gave_up", "Given up on"),
            ("waiting", "Waiting to be sent"),
            ("sent", "Sent"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        value = self.value()
        if value == "failed":
            return queryset.filter(webhook_sent_at__isnull=True).exclude(webhook_error="")
        if value == "gave_up":
            return queryset.filter(
                webhook_sent_at__isnull=True,
                webhook_next_attempt_at__isnull=True,
                webhook_attempts__gte=retry.MAX_ATTEMPTS,
            )
        if value == "waiting":
            return queryset.filter(webhook_sent_at__isnull=True, webhook_next_attempt_at__isnull=False)
        if value == "sent":
            return queryset.filter(webhook_sent_at__isnull=False)
        return queryset


class AlertNoteInline(admin.TabularInline):
    model = AlertNote
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "author", "text"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(AuditTrailAdmin):
    """Read-only: alerts are worked on their own pages, where every change leaves a note
    and notifies whom it should. The admin shows them whole, and where telling people
    failed."""

    list_display = [
        "customer",
        "kind",
        "priority",
        "high_value",
        "status",
        "assignee",
        "score",
        "revenue_12m",
        "created_at",
        "due_at",
        "escalated_at",
        "notified_at",
        "webhook_status",
    ]
    list_filter = [
        "status",
        "priority",
        "kind",
        "high_value",
        EscalatedFilter,
        NotificationFilter,
        WebhookFilter,
    ]
    search_fields = ["customer__name", "customer__external_id"]
    list_select_related = ["customer", "assignee"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["customer", "response", "kind", "status", "priority", "high_value", "assignee", "why"]}),
        (
            "As it stood when raised",
            {"fields": ["tier", "revenue_12m", "on_time_rate", "score", "previous_score"]},
        ),
        (
            "Unreachable: the contact lost",
            {"fields": ["lost_contact_email", "lost_contact_reason", "lost_contact_at"], "classes": ["collapse"]},
        ),
        ("Timeline", {"fields": ["created_at", "due_at", "acknowledged_at", "resolved_at", "escalated_at"]}),
        ("Emails", {"fields": ["notified_at", "escalation_notified_at"]}),
        (
            "Webhook",
            {
                "fields": [
                    "webhook_status",
                    "webhook_sent_at",
                    "webhook_attempts",
                    "webhook_next_attempt_at",
                    "webhook_error",
                ]
            },
        ),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [AlertNoteInline]
    actions = ["retry_webhook"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by answers and by customers we can no longer reach

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    def view_on_site(self, alert: Alert) -> str:
        return reverse("insights:alert", args=[alert.pk])

    @admin.display(description="why it ranks so")
    def why(self, alert: Alert) -> str:
        return rules.rank_reason(alert)

    @admin.display(description="webhook")
    def webhook_status(self, alert: Alert) -> str:
        attempts = f"{alert.webhook_attempts} attempt{'s' if alert.webhook_attempts != 1 else ''}"
        if alert.webhook_sent_at:
            return f"Sent ({attempts})"
        if alert.webhook_next_attempt_at:
            return f"Failing, retrying ({attempts})" if alert.webhook_error else "Waiting to be sent"
        if alert.webhook_error:
            return f"Gave up ({attempts})"
        return "—"

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The form stays read-only; retrying changes alerts, so it needs the right to change them.
        return request.user.has_perm("insights.change_alert")

    @admin.action(description="Retry the webhook for the selected alerts", permissions=["retry"])
    def retry_webhook(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        if not settings.ALERT_WEBHOOK_URL:
            self.message_user(request, "No webhook is configured (ALERT_WEBHOOK_URL).", messages.WARNING)
            return
        count = services.retry_webhooks(alerts=queryset)
        self.message_user(request, f"{count} webhook(s) will be sent by the next sweep.", messages.SUCCESS)


@admin.register(AlertNote)
class AlertNoteAdmin(AuditTrailAdmin):
    list_display = ["alert", "kind", "author", "created_at", "text"]
    list_filter = ["kind"]
    search_fields = ["text", "alert__customer__name", "alert__customer__external_id"]
    list_select_related = ["alert__customer", "author"]
    date_hierarchy = "created_at"
    readonly_fields = ["alert", "kind", "author", "text", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AlertNote | None = None) -> bool:
        return False


@admin.register(AtRiskClosure)
class AtRiskClosureAdmin(admin.ModelAdmin):
    """Staff closing a customer at risk, as recorded on /alerts/at-risk/. Read-only;
    deleting one closed by mistake puts the customer back on the list."""

    list_display = ["customer", "closed_by", "closed_at", "reason"]
    search_fields = ["customer__name", "customer__external_id", "reason"]
    list_select_related = ["customer", "closed_by"]
    date_hierarchy = "closed_at"
    readonly_fields = ["customer", "response", "closed_by", "closed_at", "reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AtRiskClosure | None = None) -> bool:
        return False


@admin.register(AnswerCountState)
class AnswerCountStateAdmin(admin.ModelAdmin):
    """Which days the insights read from counts made ahead
    (insights/dashboard/counts.py); beat keeps them current every five minutes, the
    action rebuilds them now."""

    list_display = ["__str__", "settled_before", "built_at", "time_zone", "rows"]
    actions = ["rebuild_counts"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AnswerCountState | None = None) -> bool:
        return False

    @admin.display(description="rows counted")
    def rows(self, state: AnswerCountState) -> int:
        return AnswerCount.objects.count()

    def has_rebuild_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("insights.change_answercountstate")

    @admin.action(description="Rebuild the answer counts now", permissions=["rebuild"])
    def rebuild_counts(self, request: HttpRequest, queryset: QuerySet[AnswerCountState]) -> None:
        # Over a million answers a rebuild takes a while: a worker does it.
        enqueue_on_commit(REBUILD_ANSWER_COUNTS)
        self.message_user(
            request, "The answer counts are being rebuilt in the background; reload this page in a minute.",
            messages.SUCCESS,
        )

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import AuditTrailAdmin

from . import services
from .models import Delivery, Invitation, Response, ResponseRevision, Survey


@admin.register(Survey)
class SurveyAdmin(AuditTrailAdmin):
    list_display = ["name", "slug", "is_default", "is_active", "scale_min", "send_delay", "throttle", "expiry"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_default", "is_active"]}),
        ("Question and bands", {"fields": ["question", "scale_min", "satisfied_min", "promoter_min"]}),
        ("Timing", {"fields": ["send_delay", "throttle", "reminder_delay", "expiry"]}),
        (
            "Sending window and daily cap",
            {
                "fields": ["send_days", "send_from", "send_until", "daily_cap"],
                "description": "Emails due outside the window wait for it, in each customer's time zone. "
                "With a daily cap the most valuable customers' emails go first; the rest wait for the next day.",
            },
        ),
        (
            "Email",
            {
                "fields": ["email_subject", "reminder_subject", "email_intro", "email_signature"],
                "description": "Placeholders: {contact_name}, {customer}, {delivery}.",
            },
        ),
    ]


class InvitationInline(admin.StackedInline):
    model = Invitation
    extra = 0
    can_delete = False
    fields = ["status", "suppressed_reason", "scheduled_for", "sent_at", "reminded_at", "expires_at", "last_error"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer", "contact", "delivered_at", "survey", "invitation_status"]
    list_filter = ["survey", "invitation__status"]
    search_fields = ["reference", "customer__name", "customer__external_id", "contact__email"]
    list_select_related = ["customer", "contact", "survey", "invitation"]
    autocomplete_fields = ["customer", "contact"]
    date_hierarchy = "delivered_at"
    inlines = [InvitationInline]

    # Deliveries are facts reported by the API and imports, whose recording schedules
    # the survey (surveys.services.record_delivery); the admin shows them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    @admin.display(description="invitation", ordering="invitation__status")
    def invitation_status(self, delivery: Delivery) -> str:
        invitation = getattr(delivery, "invitation", None)
        return invitation.get_status_display() if invitation else "—"


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "delivery",
        "contact",
        "status",
        "suppressed_reason",
        "scheduled_for",
        "sent_at",
        "reminded_at",
        "expires_at",
        "send_attempts",
        "last_error",
    ]
    list_filter = ["status", "suppressed_reason", "delivery__survey"]
    search_fields = ["delivery__reference", "contact__email", "delivery__customer__name"]
    list_select_related = ["delivery", "contact"]
    date_hierarchy = "scheduled_for"
    readonly_fields = [
        "delivery",
        "contact",
        "status",
        "suppressed_reason",
        "scheduled_for",
        "next_attempt_at",
        "expires_at",
        "sent_at",
        "remind_at",
        "reminded_at",
        "send_attempts",
        "last_error",
        "created_at",
    ]
    actions = ["retry_sending"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invitations come from deliveries

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        # Invitations change only through their services; "change" here means the
        # right to use the retry action, which needs Django's change permission.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Retry sending the selected failed invitations", permissions=["change"])
    def retry_sending(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = services.retry_failed_invitations(invitations=queryset)
        self.message_user(request, f"{count} invitation(s) will be sent by the next sweep.", messages.SUCCESS)


class RevisionInline(admin.TabularInline):
    model = ResponseRevision
    extra = 0
    can_delete = False
    fields = ["score", "band", "comment", "submitted_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Response | None = None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["customer", "score", "band", "is_suspect", "revisions", "submitted_at", "survey"]
    list_filter = ["band", "is_suspect", "suspect_review", "survey"]
    search_fields = ["customer__name", "customer__external_id", "comment"]
    list_select_related = ["customer", "survey"]
    date_hierarchy = "submitted_at"
    readonly_fields = [
        "invitation",
        "customer",
        "survey",
        "score",
        "band",
        "comment",
        "is_suspect",
        "suspect_review",
        "suspect_reviewed_by",
        "suspect_reviewed_at",
        "first_submitted_at",
        "submitted_at",
        "revisions",
    ]
    inlines = [RevisionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

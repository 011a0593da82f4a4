from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin import AuditTrailAdmin

from . import logos, services
from .models import Delivery, Invitation, Response, ResponseRevision, Sender, Survey, SurveyText

PLACEHOLDERS_HELP = "Placeholders: {contact_name}, {customer}, {delivery}, {company} (the sender's company name)."


class SenderForm(forms.ModelForm):
    logo_file = forms.FileField(
        label="logo",
        required=False,
        help_text=f"PNG, JPEG, GIF or WebP, at most {logos.MAX_BYTES // 1024} KB; shown about 48 px high. "
        "SVG is not accepted.",
    )
    remove_logo = forms.BooleanField(required=False, help_text="Show the company name alone.")

    class Meta:
        model = Sender
        fields = ["name", "is_default", "from_name", "from_email", "reply_to", "footer"]
        widgets = {"footer": forms.Textarea(attrs={"rows": 3})}

    def clean_logo_file(self) -> tuple[bytes, str] | None:
        upload = self.cleaned_data.get("logo_file")
        if not upload:
            return None
        if upload.size > logos.MAX_BYTES:  # refused before reading it all
            raise forms.ValidationError(f"The logo is {upload.size // 1024} KB; keep it to {logos.MAX_BYTES // 1024} KB.")
        content = upload.read()
        try:
            return content, logos.image_type(content)
        except logos.InvalidLogo as exc:
            raise forms.ValidationError(str(exc)) from None

    def save(self, commit: bool = True) -> Sender:
        sender = super().save(commit=False)
        if self.cleaned_data.get("logo_file"):
            sender.set_logo(*self.cleaned_data["logo_file"])
        elif self.cleaned_data.get("remove_logo"):
            sender.remove_logo()
        if commit:
            sender.save()
        return sender


@admin.register(Sender)
class SenderAdmin(AuditTrailAdmin):
    """Who is asking: the company named on survey pages and emails."""

    form = SenderForm
    list_display = ["name", "is_default", "from_address", "reply_to"]
    readonly_fields = ["current_logo"]
    fieldsets = [
        (None, {"fields": ["name", "is_default", "current_logo", "logo_file", "remove_logo"]}),
        (
            "Email",
            {
                "fields": ["from_name", "from_email", "reply_to", "footer"],
                "description": "Survey emails come from “sender name &lt;sender address&gt;”; replies go to the "
                "reply-to address. The footer closes every email and survey page.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sender]:
        return super().get_queryset(request).defer("logo")

    @admin.display(description="current logo")
    def current_logo(self, sender: Sender) -> str:
        if not sender.logo_url:
            return "—"
        return format_html('<img src="{}" alt="{}" class="sender-logo-preview">', sender.logo_url, sender.name)


class SurveyTextInline(admin.StackedInline):
    model = SurveyText
    extra = 0
    fields = ["language", "question", "email_subject", "reminder_subject", "email_intro", "email_signature"]
    verbose_name = "text in another language"
    verbose_name_plural = "texts in other languages (for contacts who speak them)"


@admin.register(Survey)
class SurveyAdmin(AuditTrailAdmin):
    list_display = ["name", "slug", "is_default", "is_active", "sender", "scale_min", "send_delay", "throttle", "expiry"]
    list_select_related = ["sender"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SurveyTextInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_default", "is_active", "sender"]}),
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
                "description": PLACEHOLDERS_HELP,
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        return super().get_queryset(request).defer("sender__logo")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "sender":  # the choices need names, not logos
            kwargs["queryset"] = Sender.objects.defer("logo")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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

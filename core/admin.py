from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import outbox
from .models import OutgoingMessage


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):
    list_display = ["key", "status", "recipient", "attempts", "next_attempt_at", "sent_at", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "recipient", "provider_message_id"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in OutgoingMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from the apps that send them

    def has_delete_permission(self, request: HttpRequest, obj: OutgoingMessage | None = None) -> bool:
        return False  # the record of what left stays

    @admin.action(description="Send the selected failed messages again", permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutgoingMessage]) -> None:
        count = sum(outbox.requeue(message) for message in queryset.filter(status=OutgoingMessage.Status.FAILED))
        self.message_user(request, f"{count} message(s) will be sent by the next sweep.", messages.SUCCESS)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class SignInAttemptAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins, one row per username + address pair, with an action
    that lifts a lockout before its cool-off ends."""

    actions = ["unlock", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock the selected username + address pairs", permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        # A pair is locked while its row counts enough failures: without the row it starts afresh.
        count, _ = queryset.delete()
        self.message_user(request, f"{count} sign-in lock(s) lifted; those pairs may log in again.", messages.SUCCESS)

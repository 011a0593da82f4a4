from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from . import audit, outbox
from .models import OutgoingMessage


class AuditTrailAdmin(admin.ModelAdmin):
    """An audited model's admin: the change form's "History" shows the object's audit
    trail (every change from pages, the API, imports and the admin, with who made it)."""

    object_history_template = "admin/audit_history.html"

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        trail = audit.trail_for_page(request.user, obj) if obj is not None else {}
        return super().history_view(request, object_id, extra_context={**trail, **(extra_context or {})})


for model, model_admin in [(get_user_model(), UserAdmin), (Group, GroupAdmin), (AuthToken, AuthTokenAdmin)]:
    admin.site.unregister(model)
    admin.site.register(model, type(model_admin.__name__, (AuditTrailAdmin, model_admin), {}))


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):
    # The reason stands in the list: a failed message's is what staff look for.
    list_display = ["key", "status", "recipient", "attempts", "last_error", "next_attempt_at", "sent_at", "created_at"]
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

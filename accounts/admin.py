from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from .forms import AdminPasswordLoginForm
from .models import SignInPolicy

# The admin's login obeys the sign-in policy too.
admin.site.login_form = AdminPasswordLoginForm


class SignInPolicyForm(forms.ModelForm):
    class Meta:
        model = SignInPolicy
        fields = ["require_sso", "break_glass_users"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("require_sso"):
            if not settings.SSO_ENABLED:
                raise forms.ValidationError(
                    "Single sign-on is not configured (OIDC_RP_CLIENT_ID and the provider's settings), "
                    "so requiring it would lock everyone but the break-glass accounts out."
                )
            if not any(user.is_active for user in cleaned.get("break_glass_users") or []):
                raise forms.ValidationError(
                    "Name at least one active break-glass account, who can still sign in with a "
                    "password when the provider is down."
                )
        return cleaned


@admin.register(SignInPolicy)
class SignInPolicyAdmin(admin.ModelAdmin):
    form = SignInPolicyForm
    filter_horizontal = ["break_glass_users"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one policy, made on first use

    def has_delete_permission(self, request: HttpRequest, obj: SignInPolicy | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        policy = SignInPolicy.current()
        return HttpResponseRedirect(reverse("admin:accounts_signinpolicy_change", args=[policy.pk]))

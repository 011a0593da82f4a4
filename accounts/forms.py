from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .models import SignInPolicy


def refuse_password_while_sso_required(form: AuthenticationForm) -> None:
    """Refuses before the password is checked, so a person whose password sign-in is off
    learns nothing about that password, and guessing it is pointless."""
    username = form.cleaned_data.get("username")
    if username and not SignInPolicy.current().allows_password_for(username):
        raise forms.ValidationError(
            f"Password sign-in is switched off: use “Sign in with {settings.OIDC_PROVIDER_NAME}” "
            "on the ValuePulse login page (/login/).",
            code="sso_required",
        )


class PasswordLoginForm(AuthenticationForm):
    def clean(self):
        refuse_password_while_sso_required(self)
        return super().clean()


class AdminPasswordLoginForm(AdminAuthenticationForm):
    def clean(self):
        refuse_password_while_sso_required(self)
        return super().clean()

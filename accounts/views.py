from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from .forms import PasswordLoginForm


def login(request: HttpRequest) -> HttpResponse:
    """Django's login page with our password form and, when single sign-on is on, its button."""
    context = {"sso_enabled": settings.SSO_ENABLED, "sso_provider_name": settings.OIDC_PROVIDER_NAME}
    if settings.SSO_ENABLED:
        next_url = request.GET.get("next", "")
        context["sso_url"] = reverse("oidc_authentication_init") + (f"?{urlencode({'next': next_url})}" if next_url else "")
    view = auth_views.LoginView.as_view(
        form_class=PasswordLoginForm, redirect_authenticated_user=True, extra_context=context
    )
    return view(request)

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from core.api.docs import SwaggerDocsView

from accounts import views as accounts_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="insights:alerts", permanent=False)),
    # First: the respondent's pages are the hottest path (issue 15), and Django tries
    # each pattern in turn. No other pattern matches their addresses.
    path("", include("surveys.urls")),
    path("login/", accounts_views.login, name="login"),
    # Single sign-on (OpenID Connect); 404 unless OIDC_RP_CLIENT_ID is set.
    path("oidc/", include("accounts.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("customers.urls")),
    path("", include("insights.urls")),
    path("", include("core.urls")),
    # The email providers' delivery-event webhooks: /anymail/<provider>/tracking/ (basic auth).
    path("anymail/", include("anymail.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# Under /api/ these answer JSON; elsewhere Django's pages (core/api/errors.py).
handler400 = "core.api.errors.bad_request"
handler404 = "core.api.errors.not_found"
handler500 = "core.api.errors.server_error"

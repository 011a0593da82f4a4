from django.urls import path

from . import sso

# mozilla-django-oidc's names, which its views reverse.
urlpatterns = [
    path("authenticate/", sso.SSORequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", sso.SSOCallbackView.as_view(), name="oidc_authentication_callback"),
]

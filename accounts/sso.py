"""Single sign-on through OpenID Connect (mozilla-django-oidc), matching people to
ValuePulse users by verified email. Switched on by OIDC_RP_CLIENT_ID (config.settings)."""

from __future__ import annotations

import logging
import time

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .services import create_sso_user

logger = logging.getLogger(__name__)

# Each endpoint setting and its name in the provider's discovery document.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    # Bandit reads "token" as a password; this is the name of a discovery field.
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",  # nosec B105
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
}
DISCOVERY_CACHE_SECONDS = 3600


class SignInRefused(Exception):
    """The provider vouched for someone ValuePulse will not let in; the message says why."""


def discovery_document(url: str) -> dict:
    """The provider's /.well-known/openid-configuration, kept for an hour."""
    key = f"oidc-discovery:{url}"
    document = cache.get(key)
    if document is None:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def sso_setting(attr: str, *default):
    """mozilla-django-oidc's settings, with an endpoint left empty taken from discovery."""
    value = getattr(settings, attr, *default) if default else getattr(settings, attr)
    if attr in DISCOVERED and not value and settings.OIDC_OP_DISCOVERY_URL:
        value = discovery_document(settings.OIDC_OP_DISCOVERY_URL).get(DISCOVERED[attr])
        if not value:
            raise ImproperlyConfigured(f"The provider's discovery document has no {DISCOVERED[attr]}; set {attr}.")
    return value


# How far the provider's clock may run ahead of ours when an ID token expires.
CLOCK_SKEW_SECONDS = 120


def check_id_token(payload: dict, *, issuer: str, client_id: str, now: float) -> None:
    """The checks OpenID Connect Core (3.1.3.7) asks of an ID token beyond its signature
    and nonce, which mozilla-django-oidc does not make: it was issued by our provider,
    for ValuePulse, and has not expired. SignInRefused otherwise, saying which."""
    if payload.get("iss") != issuer:
        raise SignInRefused(f"the ID token was issued by {payload.get('iss')!r}, not {issuer!r}")
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences:
        raise SignInRefused(f"the ID token is for {audiences!r}, not this client")
    if len(audiences) > 1 and payload.get("azp") != client_id:
        raise SignInRefused("the ID token names several audiences and was not authorised for this client")
    expires = payload.get("exp")
    if not isinstance(expires, (int, float)) or expires + CLOCK_SKEW_SECONDS < now:
        raise SignInRefused("the ID token has expired")


def email_is_verified(claims: dict) -> bool:
    # Some providers send the boolean as a string.
    return claims.get("email_verified") in (True, "true", "True")


def user_for_claims(claims: dict) -> AbstractUser:
    """The one active user whose email the provider has verified, or a new one when
    OIDC_CREATE_USERS is on; SignInRefused otherwise."""
    email = (claims.get("email") or "").strip()
    if not email or not email_is_verified(claims):
        raise SignInRefused(
            f"{settings.OIDC_PROVIDER_NAME} has not verified your email address, so ValuePulse "
            "cannot tell which account is yours. Verify it there, then sign in again."
        )
    same_email = get_user_model().objects.filter(email__iexact=email)
    active = [user for user in same_email if user.is_active]
    if len(active) > 1:
        raise SignInRefused(
            f"More than one ValuePulse account uses {email}, so single sign-on cannot choose; "
            "ask staff to give each account its own email."
        )
    if active:
        return active[0]
    if same_email:
        # A deactivated person must not come back as a new account.
        raise SignInRefused(f"The ValuePulse account for {email} is deactivated; ask staff.")
    if not settings.OIDC_CREATE_USERS:
        raise SignInRefused(f"No ValuePulse account uses this email ({email}); ask staff.")
    return create_sso_user(
        email=email,
        first_name=claims.get("given_name") or "",
        last_name=claims.get("family_name") or "",
        group_name=settings.OIDC_NEW_USER_GROUP,
    )


class SSOBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(sso_setting)

    def __init__(self, *args, **kwargs) -> None:
        # Endpoints are read when a callback arrives, not here: Django builds every backend
        # for every password sign-in, which must never wait on (or fail with) the provider.
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs):
        if request is None or "code" not in request.GET or "state" not in request.GET:
            return None
        try:
            super().__init__()
            return super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            logger.warning("Single sign-on could not reach the provider: %s", error)
            messages.error(request, f"Signing in with {settings.OIDC_PROVIDER_NAME} failed: it could not be "
                                    "reached or refused the request; try again shortly.")
            request.sso_refused = True
            return None
        except SignInRefused as refusal:
            logger.warning("Single sign-on refused an ID token: %s", refusal)
            messages.error(request, f"Signing in with {settings.OIDC_PROVIDER_NAME} failed: its answer was not "
                                    "meant for ValuePulse. Try again; if it keeps failing, tell staff.")
            request.sso_refused = True
            return None

    def verify_token(self, token: str, **kwargs) -> dict:
        payload = super().verify_token(token, **kwargs)
        check_id_token(
            payload, issuer=self.get_settings("OIDC_OP_ISSUER"), client_id=settings.OIDC_RP_CLIENT_ID, now=time.time()
        )
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict):
        claims = self.get_userinfo(access_token, id_token, payload)
        try:
            return user_for_claims(claims)
        except SignInRefused as refusal:
            logger.info("Single sign-on refused for %s: %s", claims.get("email"), refusal)
            messages.error(self.request, str(refusal))
            self.request.sso_refused = True
            return None

    def get_user(self, user_id):
        # mozilla-django-oidc's own get_user would keep a deactivated user's session alive.
        return ModelBackend.get_user(self, user_id)


def _require_sso_enabled() -> None:
    if not settings.SSO_ENABLED:
        raise Http404("Single sign-on is not configured.")


class SSORequestView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(sso_setting)

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _require_sso_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except requests.RequestException as error:
            logger.warning("OIDC discovery failed: %s", error)
            messages.error(request, f"{settings.OIDC_PROVIDER_NAME} cannot be reached just now; try again shortly.")
            return HttpResponseRedirect(reverse("login"))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().dispatch(request, *args, **kwargs)

    def __init__(self, **kwargs) -> None:
        # mozilla-django-oidc reads the endpoints here; dispatch does, once SSO is known to be on.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)


class SSOCallbackView(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(sso_setting)

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _require_sso_enabled()
        return super().dispatch(request, *args, **kwargs)

    @property
    def failure_url(self) -> str:
        return reverse("login")

    def login_failure(self) -> HttpResponse:
        if not getattr(self.request, "sso_refused", False):
            messages.error(self.request, f"Signing in with {settings.OIDC_PROVIDER_NAME} did not work; try again.")
        return super().login_failure()

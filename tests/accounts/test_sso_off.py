"""Without OIDC_RP_CLIENT_ID nothing of single sign-on appears; a wrong configuration says
what is wrong."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import oidc_settings
from tests.support.oidc import free_port
from tests.support.services import clear_cache

pytestmark = pytest.mark.django_db


def test_the_login_page_shows_no_sso_button(client):
    page = client.get("/login/").content.decode()

    assert "Sign in with" not in page
    assert "/oidc/" not in page


@pytest.mark.parametrize("path", ["/oidc/authenticate/", "/oidc/callback/?code=x&state=y"])
def test_the_sso_addresses_answer_404(client, path):
    assert client.get(path).status_code == 404


def test_only_password_sign_in_is_in_the_authentication_backends():
    assert oidc_settings({})["AUTHENTICATION_BACKENDS"] == [
        "axes.backends.AxesStandaloneBackend", "accounts.backends.PasswordBackend",
    ]


def test_a_client_id_without_endpoints_or_discovery_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="OIDC_OP_DISCOVERY_URL"):
        oidc_settings({"OIDC_RP_CLIENT_ID": "x", "OIDC_RP_CLIENT_SECRET": "y"})


def test_a_client_id_without_its_secret_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="OIDC_RP_CLIENT_SECRET"):
        oidc_settings({"OIDC_RP_CLIENT_ID": "x", "OIDC_OP_DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration"})


def test_a_client_id_switches_the_sso_backend_on():
    configured = oidc_settings({
        "OIDC_RP_CLIENT_ID": "x", "OIDC_RP_CLIENT_SECRET": "y",
        "OIDC_OP_DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration",
    })

    assert configured["SSO_ENABLED"] is True
    assert configured["AUTHENTICATION_BACKENDS"] == [
        "axes.backends.AxesStandaloneBackend", "accounts.backends.PasswordBackend", "accounts.sso.SSOBackend",
    ]
    assert configured["OIDC_RP_SIGN_ALGO"] == "RS256"


def test_a_provider_that_cannot_be_reached_sends_people_back_to_the_login_page_saying_so(client, settings):
    closed = f"http://127.0.0.1:{free_port()}/o/.well-known/openid-configuration"
    # A provider another test ran on this port may have left its discovery document cached.
    clear_cache()
    for name, value in oidc_settings({"OIDC_RP_CLIENT_ID": "x", "OIDC_RP_CLIENT_SECRET": "y",
                                      "OIDC_OP_DISCOVERY_URL": closed, "OIDC_PROVIDER_NAME": "Okta"}).items():
        setattr(settings, name, value)

    answer = client.get("/oidc/authenticate/", follow=True)

    assert answer.redirect_chain == [("/login/", 302)]
    assert "Okta cannot be reached just now; try again shortly." in answer.content.decode()

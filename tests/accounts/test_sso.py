"""Single sign-on through a real OpenID Connect provider (django-oauth-toolkit in its own
process) against ValuePulse on a live server, driven as a browser would with requests."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from config.settings import OIDC_ENDPOINT_SETTINGS
from tests.factories import UserFactory
from tests.support.oidc import sign_in_with_sso

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_as(session: requests.Session, live_server) -> str | None:
    """Who ValuePulse says is signed in on this session (the name in the header), if anyone."""
    page = session.get(f"{live_server.url}/alerts/", timeout=10, allow_redirects=False)
    if page.status_code != 200:
        return None
    return page.text.split('<div class="nav-user">', 1)[1].split("<span>", 1)[1].split("</span>", 1)[0].strip()


class TestMatchingByVerifiedEmail:
    def test_a_verified_email_signs_in_the_user_with_that_email_whatever_its_case(self, live_server, sso):
        UserFactory(username="alice.ash", first_name="Alice", last_name="Ash", email="Alice@Example.COM")
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "alice")

        assert answer.url == f"{live_server.url}/alerts/"
        assert signed_in_as(session, live_server) == "Alice Ash"

    def test_the_endpoints_may_be_named_one_by_one_instead_of_discovered(self, live_server, sso, provider):
        explicit = {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{provider.url}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{provider.url}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{provider.url}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{provider.url}/.well-known/jwks.json",
            "OIDC_OP_ISSUER": provider.url,
        }
        assert set(explicit) == set(OIDC_ENDPOINT_SETTINGS)
        sso(OIDC_OP_DISCOVERY_URL="", **explicit)
        UserFactory(username="alice.ash", email="alice@example.com")
        session = requests.Session()

        sign_in_with_sso(session, live_server.url, "alice")

        assert signed_in_as(session, live_server) == "alice.ash"

    def test_an_id_token_from_another_issuer_than_configured_is_refused(self, live_server, sso):
        sso(OIDC_OP_ISSUER="https://impostor.example.com/o")
        UserFactory(username="alice.ash", email="alice@example.com")
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "alice")

        assert answer.url == f"{live_server.url}/login/"
        assert "its answer was not meant for ValuePulse" in answer.text
        assert signed_in_as(session, live_server) is None

    def test_an_unverified_email_is_refused_even_when_a_user_has_it(self, live_server, sso):
        UserFactory(username="mallory", email="mallory@example.com")
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "unverified")

        assert answer.url == f"{live_server.url}/login/"
        assert "Test IdP has not verified your email address" in answer.text
        assert signed_in_as(session, live_server) is None

    def test_an_unknown_email_is_refused_and_told_to_ask_staff(self, live_server, sso):
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "newcomer")

        assert "No ValuePulse account uses this email (newcomer@example.com); ask staff." in answer.text
        assert signed_in_as(session, live_server) is None
        assert not get_user_model().objects.filter(email__iexact="newcomer@example.com").exists()

    def test_an_email_two_users_share_is_refused_rather_than_guessed(self, live_server, sso):
        UserFactory(username="alice1", email="alice@example.com")
        UserFactory(username="alice2", email="ALICE@example.com")
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "alice")

        assert "More than one ValuePulse account uses alice@example.com" in answer.text
        assert signed_in_as(session, live_server) is None

    def test_a_deactivated_users_email_is_refused_even_when_users_may_be_created(self, live_server, sso):
        sso(OIDC_CREATE_USERS="true")
        UserFactory(username="alice", email="alice@example.com", is_active=False)
        session = requests.Session()

        answer = sign_in_with_sso(session, live_server.url, "alice")

        assert "The ValuePulse account for alice@example.com is deactivated; ask staff." in answer.text
        assert get_user_model().objects.filter(email__iexact="alice@example.com").count() == 1
        assert signed_in_as(session, live_server) is None


class TestCreatingUsers:
    def test_an_unknown_verified_email_creates_a_user_in_the_configured_group_who_is_never_staff(self, live_server, sso):
        sso(OIDC_CREATE_USERS="true", OIDC_NEW_USER_GROUP="Account managers")
        session = requests.Session()

        sign_in_with_sso(session, live_server.url, "newcomer")

        user = get_user_model().objects.get(email="newcomer@example.com")
        assert (user.username, user.first_name, user.last_name) == ("newcomer@example.com", "Nia", "New")
        assert not user.has_usable_password()
        assert not user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == ["Account managers"]
        assert signed_in_as(session, live_server) == "Nia New"

    def test_signing_in_again_uses_the_user_made_the_first_time(self, live_server, sso):
        sso(OIDC_CREATE_USERS="true")
        sign_in_with_sso(requests.Session(), live_server.url, "newcomer")
        session = requests.Session()

        sign_in_with_sso(session, live_server.url, "newcomer")

        assert get_user_model().objects.filter(email="newcomer@example.com").count() == 1
        assert not Group.objects.exists()
        assert signed_in_as(session, live_server) == "Nia New"

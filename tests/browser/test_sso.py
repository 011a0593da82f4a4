"""Signing in with single sign-on in real Chromium, through a real OpenID Connect provider
running in a process of its own."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from config.settings import oidc_settings
from tests.factories import UserFactory
from tests.support.oidc import PASSWORD, oidc_provider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sso(settings, live_server):
    with oidc_provider(redirect_uri=f"{live_server.url}/oidc/callback/") as provider:
        for name, value in oidc_settings(provider.environment()).items():
            setattr(settings, name, value)
        yield provider


def test_a_person_signs_in_with_the_provider_and_lands_back_signed_in(page, live_server, sso):
    UserFactory(username="alice.ash", first_name="Alice", last_name="Ash", email="alice@example.com")

    page.goto(f"{live_server.url}/customers/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
    page.get_by_label("Provider username").fill("alice")
    page.get_by_label("Provider password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator(".nav-user")).to_contain_text("Alice Ash")
    assert page.url == f"{live_server.url}/customers/"

from __future__ import annotations

import pytest

from config.settings import oidc_settings
from tests.support.oidc import oidc_provider


@pytest.fixture(scope="module")
def provider(live_server):
    """The real OpenID Connect provider, in its own process, for this module's tests."""
    with oidc_provider(redirect_uri=f"{live_server.url}/oidc/callback/") as running:
        yield running


@pytest.fixture
def sso(settings, provider):
    """Single sign-on switched on for the live server, as the environment would; call it
    again with more variables (OIDC_CREATE_USERS=true) to change them."""
    def switch_on(**extra: str):
        for name, value in oidc_settings(provider.environment(**extra)).items():
            setattr(settings, name, value)
        return provider

    switch_on()
    return switch_on

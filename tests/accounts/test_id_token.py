"""The ID token's claims: issued by our provider, for ValuePulse, unexpired (OpenID
Connect Core 3.1.3.7), checked on top of mozilla-django-oidc's signature and nonce."""

from __future__ import annotations

import pytest

from accounts.sso import CLOCK_SKEW_SECONDS, SignInRefused, check_id_token

ISSUER = "https://idp.example.com/o"
CLIENT = "valuepulse"
NOW = 1_800_000_000


def token(**claims) -> dict:
    return {"iss": ISSUER, "aud": CLIENT, "exp": NOW + 300, "sub": "42", **claims}


def check(payload: dict) -> None:
    check_id_token(payload, issuer=ISSUER, client_id=CLIENT, now=NOW)


def test_a_token_from_our_provider_for_us_and_unexpired_passes():
    check(token())
    check(token(aud=[CLIENT]))
    check(token(aud=[CLIENT, "another-app"], azp=CLIENT))


@pytest.mark.parametrize("issuer", ["https://evil.example.com/o", "", None])
def test_a_token_from_another_issuer_is_refused(issuer):
    with pytest.raises(SignInRefused, match="issued by"):
        check(token(iss=issuer))


@pytest.mark.parametrize("audience", ["another-app", ["another-app"], [], None])
def test_a_token_meant_for_another_client_is_refused(audience):
    with pytest.raises(SignInRefused, match="not this client"):
        check(token(aud=audience))


def test_a_token_for_several_audiences_needs_us_as_its_authorised_party():
    with pytest.raises(SignInRefused, match="several audiences"):
        check(token(aud=[CLIENT, "another-app"], azp="another-app"))


def test_an_expired_token_is_refused_beyond_the_clock_skew():
    check(token(exp=NOW - CLOCK_SKEW_SECONDS + 1))
    with pytest.raises(SignInRefused, match="expired"):
        check(token(exp=NOW - CLOCK_SKEW_SECONDS - 1))
    with pytest.raises(SignInRefused, match="expired"):
        check(token(exp=None))

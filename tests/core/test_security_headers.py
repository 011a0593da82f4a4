"""Every response carries the Content-Security-Policy and the Permissions-Policy."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    return dict(directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";"))


class TestContentSecurityPolicy:
    @pytest.mark.parametrize("path", ["/login/", "/s/no-such-token/", "/static/css/app.css", "/api/schema/"])
    def test_every_response_carries_it(self, client: Client, path):
        assert "Content-Security-Policy" in client.get(path)

    def test_it_allows_only_the_apps_own_scripts_and_styles(self, client: Client):
        directives = policy(client.get("/login/"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["base-uri"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["form-action"] == "'self'"
        assert not any("unsafe" in value or "http" in value for value in directives.values())

    def test_a_changed_policy_shows_on_the_next_response(self, client: Client, settings):
        """The site's policy is built once per process (core/csp.py), and again when its setting changes."""
        assert policy(client.get("/login/"))["img-src"] == "'self' data:"
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'"]}}
        assert policy(client.get("/login/"))["img-src"] == "'self'"

    def test_a_report_only_policy_is_sent_beside_it_when_set(self, client: Client, settings):
        assert "Content-Security-Policy-Report-Only" not in client.get("/login/")
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"]}}
        assert client.get("/login/")["Content-Security-Policy-Report-Only"] == "default-src 'none'"


class TestPermissionsPolicy:
    @pytest.mark.parametrize("path", ["/login/", "/s/no-such-token/", "/api/schema/"])
    def test_every_response_turns_off_the_features_the_app_does_not_use(self, client: Client, path):
        features = dict(item.strip().split("=") for item in client.get(path)["Permissions-Policy"].split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()"

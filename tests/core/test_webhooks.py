"""The providers' webhooks under /anymail/ need the basic auth of ANYMAIL_WEBHOOK_SECRET
and answer a clear 4xx to what they refuse; nothing else is touched."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.providers import ANYMAIL_SETTINGS, Postmark, basic_auth

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/tracking/"
DELIVERED = json.dumps({"RecordType": "Delivery", "MessageID": "m-1", "Recipient": "jane@example.com",
                        "DeliveredAt": "2026-11-30T10:00:00Z"})


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = ANYMAIL_SETTINGS


def post(client, body=DELIVERED, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


class TestBasicAuth:
    def test_the_right_credentials_are_let_through(self, client):
        assert post(client, **basic_auth()).status_code == 200

    def test_a_missing_or_wrong_password_is_challenged(self, client):
        for headers in ({}, basic_auth("valuepulse:wrong"), {"HTTP_AUTHORIZATION": "Bearer token"}):
            response = post(client, **headers)
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == 'Basic realm="ValuePulse delivery webhooks"'

    def test_two_secrets_are_both_accepted_while_rotating(self, client, settings):
        settings.ANYMAIL = {"WEBHOOK_SECRET": ["old:secret", "new:secret"]}
        assert post(client, **basic_auth("old:secret")).status_code == 200
        assert post(client, **basic_auth("new:secret")).status_code == 200

    def test_without_a_secret_the_webhooks_are_off(self, client, settings):
        settings.ANYMAIL = {}
        assert post(client, **basic_auth()).status_code == 403

    def test_providers_post_without_a_csrf_token(self):
        assert post(Client(enforce_csrf_checks=True), **basic_auth()).status_code == 200

    def test_a_providers_head_check_needs_no_credentials(self, client):
        assert client.head(URL).status_code == 200


class TestMalformed:
    def test_a_body_that_is_not_json_is_a_400(self, client):
        assert post(client, "RecordType=Bounce", **basic_auth()).status_code == 400

    def test_a_body_that_is_not_utf8_is_a_400(self, client):
        assert post(client, b'{"RecordType": "\xff"}', **basic_auth()).status_code == 400

    def test_a_postmark_inbound_payload_posted_to_tracking_stays_a_server_error(self, client):
        """A configuration mistake, not a bad request: it must show in the error logs."""
        from anymail.exceptions import AnymailConfigurationError

        with pytest.raises(AnymailConfigurationError):
            post(client, json.dumps({"FromFull": {"Email": "from@example.org"}}), **basic_auth())


class TestOtherPages:
    def test_other_pages_are_not_touched(self, client):
        assert client.get(reverse("login")).status_code == 200

    def test_every_providers_tracking_url_is_served(self):
        for name in ("postmark", "amazon_ses", "mailgun", "sendgrid", "brevo", "sparkpost", "mailjet", "resend"):
            assert reverse(f"anymail:{name}_tracking_webhook") == f"/anymail/{name}/tracking/"

    def test_the_payload_helpers_post_where_anymail_listens(self):
        assert reverse("anymail:postmark_tracking_webhook") == Postmark.url

"""API calls are throttled per token and, without credentials, per client address:
429 JSON with Retry-After once a caller passes its rate."""

from __future__ import annotations

import json

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import ApiStaffFactory
from tests.support.services import clear_cache

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


@pytest.fixture(autouse=True)
def fresh_counters():
    clear_cache()


def token_client(user=None) -> APIClient:
    _, token = AuthToken.objects.create(user=user or ApiStaffFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_throttled(answer) -> None:
    assert answer.status_code == 429
    assert "json" in answer["Content-Type"]
    assert "throttled" in json.loads(answer.content)["detail"]
    assert 0 < int(answer["Retry-After"]) <= 3600


class TestPerToken:
    def test_a_token_past_its_rate_gets_429_with_retry_after(self, settings):
        settings.API_USER_RATE = "3/hour"
        api = token_client()
        assert [api.get(CUSTOMERS).status_code for _ in range(3)] == [200, 200, 200]
        assert_throttled(api.get(CUSTOMERS))

    def test_each_token_has_its_own_count(self, settings):
        settings.API_USER_RATE = "2/hour"
        user = ApiStaffFactory()
        first, second = token_client(user), token_client(user)
        [first.get(CUSTOMERS) for _ in range(3)]
        assert first.get(CUSTOMERS).status_code == 429
        assert second.get(CUSTOMERS).status_code == 200

    def test_a_bulk_call_counts_as_one_call(self, settings):
        settings.API_USER_RATE = "2/hour"
        api = token_client()
        rows = [{"external_id": f"CRM-{n}", "name": f"Customer {n}"} for n in range(50)]
        assert api.post(f"{CUSTOMERS}bulk/", rows, format="json").status_code == 200
        assert api.post(f"{CUSTOMERS}bulk/", rows, format="json").status_code == 200
        assert_throttled(api.post(f"{CUSTOMERS}bulk/", rows, format="json"))

    def test_a_token_is_not_limited_by_its_address(self, settings):
        settings.API_ANON_RATE = "1/hour"
        api = token_client()
        assert [api.get(CUSTOMERS).status_code for _ in range(3)] == [200, 200, 200]


class TestPerAddress:
    """Every call without valid credentials is turned away (401); past API_ANON_RATE
    from one address the answer becomes 429, so tokens cannot be guessed at speed."""

    def test_an_address_without_credentials_past_its_rate_gets_429(self, settings):
        settings.API_ANON_RATE = "2/hour"
        anonymous = APIClient()
        assert [anonymous.get(CUSTOMERS, REMOTE_ADDR="192.0.2.1").status_code for _ in range(2)] == [401, 401]
        assert_throttled(anonymous.get(CUSTOMERS, REMOTE_ADDR="192.0.2.1"))
        assert anonymous.get(CUSTOMERS, REMOTE_ADDR="192.0.2.2").status_code == 401

    def test_wrong_tokens_from_one_address_past_its_rate_get_429(self, settings):
        settings.API_ANON_RATE = "3/hour"
        guesser = APIClient(REMOTE_ADDR="192.0.2.1")
        answers = [
            guesser.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {'0' * 63}{n}").status_code for n in range(3)
        ]
        assert answers == [401, 401, 401]
        assert_throttled(guesser.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {'1' * 64}"))

    def test_a_valid_token_still_works_from_an_address_that_guessed(self, settings):
        settings.API_ANON_RATE = "1/hour"
        guesser = APIClient(REMOTE_ADDR="192.0.2.1")
        [guesser.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Token {'0' * 64}") for _ in range(3)]
        assert token_client().get(CUSTOMERS, REMOTE_ADDR="192.0.2.1").status_code == 200

    def test_behind_a_proxy_it_counts_the_client_not_the_proxy(self, settings):
        settings.API_ANON_RATE = "1/hour"
        settings.TRUSTED_PROXY_HOPS = 1
        anonymous = APIClient(REMOTE_ADDR="10.0.0.9")
        assert anonymous.get(CUSTOMERS, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 401
        assert anonymous.get(CUSTOMERS, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 401
        # Writing another address to the left does not make a new client.
        assert anonymous.get(CUSTOMERS, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7").status_code == 429


def test_the_throttles_import_on_their_own():
    """DRF's APIView reads DEFAULT_THROTTLE_CLASSES while its module loads: a throttles
    module that imports rest_framework.views back cannot be imported first."""
    import subprocess
    import sys

    code = "import django; django.setup(); import core.api.throttles"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]

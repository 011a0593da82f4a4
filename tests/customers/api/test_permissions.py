from __future__ import annotations

from datetime import timedelta

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import ApiUserFactory, ContactFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/customers/", "/api/v1/contacts/", "/api/v1/invoices/"]
WRITES = [
    ("post", "/api/v1/customers/"),
    ("post", "/api/v1/customers/bulk/"),
    ("put", "/api/v1/customers/MINE/"),
    ("patch", "/api/v1/customers/MINE/"),
    ("post", "/api/v1/contacts/"),
    ("post", "/api/v1/invoices/"),
    ("post", "/api/v1/invoices/bulk/"),
]


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


class TestAuthentication:
    @pytest.mark.parametrize("url", [*LISTS, "/api/v1/customers/MINE/"])
    def test_an_anonymous_read_is_401_with_a_token_challenge(self, url):
        response = APIClient().get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    @pytest.mark.parametrize(("method", "url"), WRITES)
    def test_an_anonymous_write_is_401(self, method, url):
        assert getattr(APIClient(), method)(url, {}, format="json").status_code == 401

    def test_a_valid_token_is_accepted(self, staff):
        _, token = AuthToken.objects.create(user=staff)
        assert client_with(token).get(LISTS[0]).status_code == 200

    def test_an_expired_token_is_401(self, staff):
        _, token = AuthToken.objects.create(user=staff, expiry=timedelta(seconds=-1))
        assert client_with(token).get(LISTS[0]).status_code == 401

    def test_a_revoked_token_is_401(self, staff):
        instance, token = AuthToken.objects.create(user=staff)
        instance.delete()
        assert client_with(token).get(LISTS[0]).status_code == 401

    def test_a_made_up_token_is_401(self, staff):
        AuthToken.objects.create(user=staff)
        assert client_with("0" * 64).get(LISTS[0]).status_code == 401

    def test_a_deactivated_users_token_is_401(self, staff):
        _, token = AuthToken.objects.create(user=staff)
        staff.is_active = False
        staff.save()
        assert client_with(token).get(LISTS[0]).status_code == 401

    def test_tokens_are_stored_only_as_hashes(self, staff):
        instance, token = AuthToken.objects.create(user=staff)
        instance.refresh_from_db()
        assert token not in (instance.digest, instance.token_key)


class TestAccountManagerAccess:
    """A non-staff user reads only the customers they manage and writes nothing."""

    @pytest.fixture(autouse=True)
    def data(self, manager):
        mine = CustomerFactory(external_id="MINE", account_manager=manager)
        theirs = CustomerFactory(external_id="THEIRS", account_manager=ApiUserFactory())
        unmanaged = CustomerFactory(external_id="NOBODYS")
        for customer in (mine, theirs, unmanaged):
            ContactFactory(customer=customer)
            InvoiceFactory(customer=customer)

    @pytest.mark.parametrize("url", LISTS)
    def test_lists_show_only_their_customers(self, manager_api, url):
        results = manager_api.get(url).json()["results"]
        customers = {row.get("external_id") or row.get("customer") for row in results}
        assert customers == {"MINE"}

    @pytest.mark.parametrize("url", LISTS)
    def test_staff_lists_show_everyone(self, api, url):
        assert api.get(url).json()["count"] == 3

    def test_they_read_their_own_customer(self, manager_api):
        assert manager_api.get("/api/v1/customers/MINE/").status_code == 200

    @pytest.mark.parametrize("external_id", ["THEIRS", "NOBODYS"])
    def test_another_managers_customer_is_404(self, manager_api, external_id):
        assert manager_api.get(f"/api/v1/customers/{external_id}/").status_code == 404

    @pytest.mark.parametrize("url", LISTS[1:])
    def test_filtering_by_another_customer_finds_nothing(self, manager_api, url):
        assert manager_api.get(f"{url}?customer=THEIRS").json()["count"] == 0

    @pytest.mark.parametrize(("method", "url"), WRITES)
    def test_every_write_is_403_even_on_their_own_customer(self, manager_api, method, url):
        response = getattr(manager_api, method)(url, {}, format="json")
        assert response.status_code == 403

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

# Every path of the customers API and the operations it answers, with their answers.
CUSTOMERS_API = {
    "/api/v1/customers/": {"get": {"200"}, "post": {"201"}},
    "/api/v1/customers/{external_id}/": {"get": {"200"}, "put": {"200", "201"}, "patch": {"200"}},
    "/api/v1/customers/bulk/": {"post": {"200", "400"}},
    "/api/v1/contacts/": {"get": {"200"}, "post": {"200", "201"}},
    "/api/v1/invoices/": {"get": {"200"}, "post": {"200", "201"}},
    "/api/v1/invoices/bulk/": {"post": {"200", "400"}},
}


@pytest.fixture
def schema(client: Client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


class TestSchema:
    def test_it_validates_without_warnings(self, tmp_path):
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    def test_it_describes_every_customers_endpoint_and_answer(self, schema):
        described = {
            path: {method: set(operation["responses"]) for method, operation in schema["paths"][path].items()}
            for path in CUSTOMERS_API
            if path in schema["paths"]
        }
        assert described == CUSTOMERS_API

    @pytest.mark.parametrize("path", ["/api/v1/customers/bulk/", "/api/v1/invoices/bulk/"])
    def test_bulk_endpoints_take_a_list_and_answer_with_counts(self, schema, path):
        operation = schema["paths"][path]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert request["type"] == "array"
        counts = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schema["components"]["schemas"][counts.rsplit("/", 1)[-1]]["properties"]) == {"created", "updated"}

    def test_it_declares_token_authentication(self, schema):
        assert schema["components"]["securitySchemes"]["knoxApiToken"]["in"] == "header"


class TestDocs:
    def test_the_docs_page_loads_its_assets_from_the_app_not_a_cdn(self, client: Client, settings):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"(https?:)?//[\w.-]+\.\w+/", html), "docs must not reference remote URLs"
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any(asset.endswith(".js") for asset in assets)
        assert any(asset.endswith(".css") for asset in assets)
        for asset in assets:
            assert asset.startswith(f"/{settings.STATIC_URL.strip('/')}/"), asset
            assert client.get(asset).status_code == 200, asset

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Every path of the customers API and the operations it answers, with their answers.
# Every call may also answer 401, 403 and 429; one with an id in its path or pages 404;
# one with filters or a body 400; one with a body 415 (core/api/schema.py).
EVERY = {"401", "403", "429"}
READ = EVERY | {"404"}
LIST = EVERY | {"400", "404"}
WRITE = EVERY | {"400", "415"}
CUSTOMERS_API = {
    "/api/v1/customers/": {"get": {"200"} | LIST, "post": {"201"} | WRITE},
    "/api/v1/customers/{external_id}/": {
        "get": {"200"} | READ, "put": {"200", "201", "404"} | WRITE, "patch": {"200", "404"} | WRITE,
    },
    "/api/v1/customers/bulk/": {"post": {"200"} | WRITE},
    "/api/v1/contacts/": {"get": {"200"} | LIST, "post": {"200", "201"} | WRITE},
    "/api/v1/contacts/{id}/erase/": {"post": {"200"} | READ},
    "/api/v1/invoices/": {"get": {"200"} | LIST, "post": {"200", "201"} | WRITE},
    "/api/v1/invoices/bulk/": {"post": {"200"} | WRITE},
}
DELIVERIES_API = {
    "/api/v1/deliveries/": {"post": {"200", "201"} | WRITE},
    "/api/v1/deliveries/bulk/": {"post": {"200"} | WRITE},
}
RESPONSES_API = {
    "/api/v1/responses/": {"get": {"200"} | LIST},
}
ALERTS_API = {
    "/api/v1/alerts/": {"get": {"200"} | LIST},
    "/api/v1/alerts/{id}/": {"get": {"200"} | READ, "patch": {"200", "404"} | WRITE},
    "/api/v1/insights/summary/": {"get": {"200", "400"} | EVERY},
}


@pytest.fixture
def signed_in(client: Client) -> Client:
    client.force_login(UserFactory())
    return client


@pytest.fixture
def schema(signed_in: Client) -> dict:
    response = signed_in.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def component(schema: dict, ref: str) -> dict:
    """The schema a "$ref" ("#/components/schemas/<name>") points at."""
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


class TestSchema:
    def test_it_validates_without_warnings(self, tmp_path):
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    @pytest.mark.parametrize(
        "api",
        [CUSTOMERS_API, DELIVERIES_API, RESPONSES_API, ALERTS_API],
        ids=["customers", "deliveries", "responses", "alerts"],
    )
    def test_it_describes_every_endpoint_and_answer(self, schema, api):
        described = {
            path: {method: set(operation["responses"]) for method, operation in schema["paths"][path].items()}
            for path in api
            if path in schema["paths"]
        }
        assert described == api

    @pytest.mark.parametrize(
        ("path", "counts"),
        [
            ("/api/v1/customers/bulk/", {"created", "updated"}),
            ("/api/v1/invoices/bulk/", {"created", "updated"}),
            ("/api/v1/deliveries/bulk/", {"created", "existing"}),
        ],
    )
    def test_bulk_endpoints_take_a_list_and_answer_with_counts(self, schema, path, counts):
        operation = schema["paths"][path]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert request["type"] == "array"
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schema["components"]["schemas"][answer.rsplit("/", 1)[-1]]["properties"]) == counts

    def test_a_delivery_answers_with_its_invitation(self, schema):
        responses = schema["paths"]["/api/v1/deliveries/"]["post"]["responses"]
        delivery = responses["201"]["content"]["application/json"]["schema"]["$ref"]
        assert responses["200"]["content"]["application/json"]["schema"]["$ref"] == delivery
        invitation = component(schema, delivery)["properties"]["invitation"]
        summary = component(schema, invitation["allOf"][0]["$ref"])
        assert set(summary["properties"]) == {"status", "scheduled_for", "suppressed_reason"}
        reason = summary["properties"]["suppressed_reason"]
        assert reason["nullable"] is True
        enums = [component(schema, choice["$ref"])["enum"] for choice in reason["oneOf"]]
        assert enums == [["opted_out", "throttled", "inactive_customer", "bounced", "complained"], [None]]

    @pytest.mark.parametrize(
        ("path", "filters"),
        [
            ("/api/v1/responses/", {"since", "band", "tier", "customer", "page"}),
            ("/api/v1/alerts/", {"status", "priority", "kind", "tier", "assignee", "customer", "page"}),
            ("/api/v1/insights/summary/", {"from", "to", "tier", "account_manager", "survey"}),
        ],
    )
    def test_the_read_endpoints_describe_their_filters(self, schema, path, filters):
        parameters = schema["paths"][path]["get"]["parameters"]
        assert {parameter["name"] for parameter in parameters} == filters

    def test_alerts_and_invitations_each_name_their_own_status(self, schema):
        alert = schema["components"]["schemas"]["Alert"]["properties"]
        assert component(schema, alert["status"]["allOf"][0]["$ref"])["enum"] == ["open", "acknowledged", "resolved"]
        change = schema["paths"]["/api/v1/alerts/{id}/"]["patch"]["requestBody"]["content"]["application/json"]
        status = component(schema, change["schema"]["$ref"])["properties"]["status"]
        assert component(schema, status["allOf"][0]["$ref"])["enum"] == ["acknowledged", "resolved"]

    def test_an_error_answer_says_what_is_wrong(self, schema):
        page_past_the_end = schema["paths"]["/api/v1/alerts/"]["get"]["responses"]["404"]
        assert page_past_the_end["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
        assert component(schema, "#/components/schemas/ErrorDetail")["required"] == ["detail"]
        bad_filter = schema["paths"]["/api/v1/customers/"]["get"]["responses"]["400"]
        assert bad_filter["content"]["application/json"]["schema"]["$ref"].endswith("/FieldErrors")

    def test_it_declares_token_authentication(self, schema):
        assert schema["components"]["securitySchemes"]["knoxApiToken"]["in"] == "header"


class TestSchemaAccess:
    def test_anonymous_callers_get_401_with_the_token_challenge(self, client: Client):
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_a_token_holder_gets_the_schema(self, client: Client):
        _, token = AuthToken.objects.create(user=UserFactory())
        response = client.get("/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200
        assert response.json()["info"]["title"] == "ValuePulse API"

    def test_anonymous_browsers_are_sent_to_log_in_for_the_docs(self, client: Client):
        response = client.get("/api/docs/")
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/api/docs/"

    def test_the_docs_start_up_script_needs_a_login_too(self, client: Client):
        assert client.get("/api/docs/", {"script": ""}).status_code == 302


class TestDocs:
    def test_the_docs_page_loads_its_assets_from_the_app_not_a_cdn(self, signed_in: Client, settings):
        response = signed_in.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"(https?:)?//[\w.-]+\.\w+/", html), "docs must not reference remote URLs"
        assert "<style" not in html and "<script>" not in html, "inline code breaks the Content-Security-Policy"
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any(asset.endswith(".js") for asset in assets)
        assert any(asset.endswith(".css") for asset in assets)
        # Swagger UI's start-up script comes from the docs' own address.
        assert "/api/docs/?script=" in assets
        for asset in assets:
            assert asset.startswith((f"/{settings.STATIC_URL.strip('/')}/", "/api/docs/?script")), asset
            assert signed_in.get(asset).status_code == 200, asset

    def test_the_docs_page_says_how_to_get_a_token(self, signed_in: Client):
        html = signed_in.get("/api/docs/").content.decode()
        assert "python manage.py create_api_token &lt;username&gt;" in html
        assert "Authorization: Token &lt;token&gt;" in html

    def test_the_schema_says_how_to_get_a_token_too(self, signed_in: Client):
        description = signed_in.get("/api/schema/", {"format": "json"}).json()["info"]["description"]
        assert "python manage.py create_api_token <username>" in description

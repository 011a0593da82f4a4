"""The access matrix: every API route (read from the OpenAPI schema, so a new route is
covered the day it is added) as each role, with who gets 200, 401, 403 or 404, and no
other customer's data in any body. The portfolio is described in tests/support/access.py.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.support.access import ROLES, Portfolio, build_portfolio

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch", "delete"}
# Account managers work their own customers' alerts through the API; every other write is staff's.
MANAGERS_WRITE = {"/api/v1/alerts/{id}/"}
# The object a path parameter names, by the route's first segment: always one of ana's
# customer's (Xray), so that ana and cid may read it and ben may not.
OBJECTS = {"customers": "customer", "contacts": "contact", "invoices": "invoice", "responses": "response",
           "alerts": "alert"}


def api_routes() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method) for path, operations in schema["paths"].items() for method in operations
            if method in {"get", *WRITES}]


@pytest.fixture
def portfolio() -> Portfolio:
    return build_portfolio()


def client_as(portfolio: Portfolio, role: str) -> APIClient:
    client = APIClient()
    user = portfolio.users[role]
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def concrete(path: str, portfolio: Portfolio) -> str:
    resource = path.removeprefix("/api/v1/").split("/")[0]
    xray = portfolio.accounts["xray"]

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "external_id":
            return xray.customer.external_id
        if name in {"id", "pk"} and resource in OBJECTS:
            return str(getattr(xray, OBJECTS[resource]).pk)
        raise AssertionError(f"The access matrix cannot fill {{{name}}} in {path}: teach concrete() about it.")

    return re.sub(r"\{(\w+)\}", fill, path)


def expected(path: str, method: str, role: str) -> set[int]:
    """The statuses `role` may get; for writes with an empty body, a 400 means the
    caller got past the access checks to the validation."""
    if role == "anonymous":
        return {401}
    names_an_object = "{" in path
    if method == "get":
        if names_an_object and role == "ben":
            return {404}
        return {200}
    if role == "staff":
        return {200, 201, 400}
    if path in MANAGERS_WRITE:
        return {404} if role == "ben" else {200, 400}
    return {403}


@pytest.mark.parametrize(("path", "method"), api_routes())
def test_every_api_route_answers_each_role_as_the_visibility_rule_says(portfolio, path, method):
    url = concrete(path, portfolio)
    for role in ROLES:
        client = client_as(portfolio, role)
        response = getattr(client, method)(url, {} if method in WRITES else None, format="json")
        assert response.status_code in expected(path, method, role), (role, method, url, response.content[:300])
        body = response.content.decode()
        for secret in portfolio.hidden_secrets(role):
            assert secret not in body, (role, method, url, secret)


def test_the_matrix_walks_every_route_of_the_api():
    paths = {path for path, _ in api_routes()}
    assert {"/api/v1/customers/", "/api/v1/customers/{external_id}/", "/api/v1/alerts/{id}/",
            "/api/v1/responses/", "/api/v1/insights/summary/"} <= paths


def test_lists_show_each_manager_exactly_their_customers(portfolio):
    for role, names in {"ana": ["CRM-XRAY"], "ben": ["CRM-YANKEE"], "cid": ["CRM-XRAY"],
                        "staff": ["CRM-XRAY", "CRM-YANKEE", "CRM-ZULU"]}.items():
        customers = client_as(portfolio, role).get("/api/v1/customers/").json()["results"]
        assert sorted(customer["external_id"] for customer in customers) == names, role

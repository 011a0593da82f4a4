"""The access matrix: every page (read from the URL resolver through
tests/support/site_map.py) and every API route (read from the OpenAPI schema), so a new
route is covered the day it is added, as each role: an anonymous visitor, two account
managers, a manager with one alert handed to them, and staff. It asserts who gets 200,
302 (to a login), 401, 403 or 404, and that no other customer's data is in any body.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.support.site_map import Page, Portfolio, build_portfolio, page_urls

pytestmark = pytest.mark.django_db

ROLES = Portfolio.ROLES


@pytest.fixture
def portfolio(settings, tmp_path) -> Portfolio:
    settings.EMAIL_BACKEND = "core.mailbox.MailboxBackend"
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    return build_portfolio()


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


# --- Pages

# Open to anyone: the link token is the key, and it may show its own customer's delivery.
PUBLIC = {"login", "surveys:respond", "surveys:thanks", "surveys:unsubscribe", "surveys:logo"}
# Staff's pages outside the admin: others are refused (403) or sent to the admin's login.
STAFF_ONLY = {"customers:deliverability": 403, "customers:erase-contact": 403, "mailbox": 302, "mailbox-message": 302,
              "mailbox-message-html": 302}
# The probes and the metrics (README "Running in production") answer by design whoever
# asks: /health/live always 200; /health/ready 503, as no worker has sent a heartbeat
# here (only its status for anyone, each check for staff: tests/core/test_health.py);
# /metrics 200 from 127.0.0.1, an allowed address (refused from others: test_metrics.py).
PROBES = {"health-live": 200, "health-ready": 503, "metrics": 200}
# Pages about one object of customer A (manager_a's; handed to manager_c through an alert).
OF_CUSTOMER_A = {"customers:detail", "insights:alert", "insights:timeline"}


_ADMIN_ACTION = re.compile(r"admin:(?P<app>\w+?)_(?P<model>[a-z0-9]+)_(?P<action>add|delete)$")


def staff_admin_status(page: Page, staff) -> int:
    """200, or 403 where the model's admin never allows adding or deleting (alerts are
    raised by answers, outbox rows are a record), or 302 where a one-row model's list
    goes straight to its row."""
    from django.apps import apps
    from django.contrib import admin
    from django.test import RequestFactory

    if page.route == "admin:accounts_signinpolicy_changelist":
        return 302
    match = _ADMIN_ACTION.match(page.route)
    if not match:
        return 200
    model_admin = admin.site._registry[apps.get_model(match["app"], match["model"])]
    request = RequestFactory().get(page.url)
    request.user = staff
    allowed = model_admin.has_add_permission(request) if match["action"] == "add" else (
        model_admin.has_delete_permission(request))
    return 200 if allowed else 403


def expected_page(page: Page, role: str, portfolio: Portfolio) -> int:
    if page.route == "login":
        return 200 if role == "anonymous" else 302  # a signed-in user goes on to the queue
    if page.route in PUBLIC:
        return 200
    if page.route in PROBES:
        return PROBES[page.route]
    if page.route == "" or page.url == "/":
        return 302  # the start page redirects to the queue
    if page.route == "admin:login":
        return 302 if role == "staff" else 200
    if page.url.startswith("/admin/"):
        return staff_admin_status(page, portfolio.staff) if role == "staff" else 302
    if role == "anonymous":
        return 401 if page.route == "api-schema" else 302
    if page.route in STAFF_ONLY and role != "staff":
        return STAFF_ONLY[page.route]
    if page.route in OF_CUSTOMER_A and role == "manager_b":
        return 404
    return 200


def test_every_page_answers_each_role_as_the_visibility_rule_says(client, portfolio):
    pages = page_urls(portfolio)
    wrong = []
    for role in ROLES:
        visitor = Client()
        if portfolio.user(role) is not None:
            visitor.force_login(portfolio.user(role))
        hidden = portfolio.hidden_secrets(role)
        for page in pages:
            response = visitor.get(page.url)
            status = expected_page(page, role, portfolio)
            if response.status_code != status:
                wrong.append(f"{role} GET {page.url}: {response.status_code}, expected {status}")
                continue
            if page.route in PUBLIC:
                continue
            body = body_of(response)
            wrong += [f"{role} GET {page.url} shows {secret!r}" for secret in hidden if secret in body]
    assert wrong == [], "\n".join(wrong)


def test_another_managers_customer_is_the_same_404_as_an_unknown_id(portfolio):
    from django.urls import reverse

    from tests.support.pages import without_csrf

    visitor = Client()
    visitor.force_login(portfolio.manager_b)
    for name, pk in (
        ("customers:detail", portfolio.customer_a.pk),
        ("insights:alert", portfolio.alert_a.pk),
        ("insights:timeline", portfolio.customer_a.pk),
    ):
        hidden = visitor.get(reverse(name, args=[pk]))
        unknown = visitor.get(reverse(name, args=[10**9]))
        assert hidden.status_code == unknown.status_code == 404
        assert without_csrf(hidden.content) == without_csrf(unknown.content)


@pytest.mark.parametrize(("role", "status"), [("anonymous", 302), ("manager_a", 403), ("manager_b", 403),
                                             ("manager_c", 403), ("staff", 303)])
def test_only_staff_may_erase_a_contact_from_its_page(portfolio, role, status):
    from django.urls import reverse

    contact = portfolio.customer_a.contacts.order_by("pk").first()
    visitor = Client()
    if portfolio.user(role) is not None:
        visitor.force_login(portfolio.user(role))
    response = visitor.post(reverse("customers:erase-contact", args=[contact.pk]), {"confirm": "on"})
    assert response.status_code == status
    contact.refresh_from_db()
    assert contact.is_erased is (role == "staff")


# --- The API

WRITES = {"post", "put", "patch", "delete"}
# Account managers work their own customers' alerts through the API; every other write is staff's.
MANAGERS_WRITE = {"/api/v1/alerts/{id}/"}
# The object a path parameter names, by the route's first segment: always one of
# customer A's, which manager_a and manager_c may read and manager_b may not.
OBJECTS = {
    "customers": lambda p: p.customer_a,
    "contacts": lambda p: p.customer_a.contacts.order_by("pk").first(),
    "invoices": lambda p: p.customer_a.invoices.order_by("pk").first(),
    "responses": lambda p: p.alert_a.response,
    "alerts": lambda p: p.alert_a,
}


def api_routes() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method) for path, operations in schema["paths"].items() for method in operations
            if method in {"get", *WRITES}]


def api_client(portfolio: Portfolio, role: str) -> APIClient:
    client = APIClient()
    user = portfolio.user(role)
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def concrete(path: str, portfolio: Portfolio) -> str:
    resource = path.removeprefix("/api/v1/").split("/")[0]

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "external_id":
            return portfolio.customer_a.external_id
        if name in {"id", "pk"} and resource in OBJECTS:
            return str(OBJECTS[resource](portfolio).pk)
        raise AssertionError(f"The access matrix cannot fill {{{name}}} in {path}: teach OBJECTS about it.")

    return re.sub(r"\{(\w+)\}", fill, path)


def expected_api(path: str, method: str, role: str) -> set[int]:
    """The statuses `role` may get; for writes with an empty body, a 400 means the
    caller got past the access checks to the validation."""
    if role == "anonymous":
        return {401}
    names_an_object = "{" in path
    if method == "get":
        return {404} if names_an_object and role == "manager_b" else {200}
    if role == "staff":
        return {200, 201, 400}
    if path in MANAGERS_WRITE:
        return {404} if role == "manager_b" else {200, 400}
    return {403}


@pytest.mark.parametrize(("path", "method"), api_routes())
def test_every_api_route_answers_each_role_as_the_visibility_rule_says(portfolio, path, method):
    url = concrete(path, portfolio)
    for role in ROLES:
        response = getattr(api_client(portfolio, role), method)(url, {} if method in WRITES else None, format="json")
        assert response.status_code in expected_api(path, method, role), (role, method, url, response.content[:300])
        body = body_of(response)
        for secret in portfolio.hidden_secrets(role):
            assert secret not in body, (role, method, url, secret)


def test_the_matrix_walks_every_route_of_the_api():
    paths = {path for path, _ in api_routes()}
    assert {"/api/v1/customers/", "/api/v1/customers/{external_id}/", "/api/v1/alerts/{id}/",
            "/api/v1/responses/", "/api/v1/insights/summary/"} <= paths


def test_api_lists_show_each_role_exactly_the_customers_it_may_read(portfolio):
    for role in ROLES[1:]:
        customers = api_client(portfolio, role).get("/api/v1/customers/").json()["results"]
        assert sorted(customer["external_id"] for customer in customers) == sorted(
            customer.external_id for customer in portfolio.readable(role)
        ), role

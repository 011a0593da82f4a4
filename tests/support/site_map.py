"""Every page of the site, addressable: a small portfolio that gives each path parameter
a real value, and the list of URLs built from every route Django knows.

A route nobody taught this module stops `page_urls` with its name, so a new page is
never silently left out of the tests that walk the site (CSP, who sees what)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import AbstractUser, Group
from django.core.mail import get_connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from knox.models import AuthToken

from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from accounts.models import SignInPolicy
from core import mailbox as dev_mailbox
from customers.models import Customer
from insights.models import Alert, AlertNote, AnswerCountState, AtRiskClosure
from surveys.emails import survey_invitation
from surveys.models import InvitationStatus, Sender
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    ResponseFactory,
    SenderFactory,
    SentMessageFactory,
    StaffFactory,
    UserFactory,
    sent_invitation,
)


@dataclass(frozen=True)
class Portfolio:
    manager_a: AbstractUser
    manager_b: AbstractUser
    # Manages no customer; one alert of manager_a's customer was handed to them.
    manager_c: AbstractUser
    # Staff and superuser: every page and the whole admin.
    staff: AbstractUser
    customer_a: Customer
    customer_b: Customer
    # Nobody manages it: only staff (the CX leads) read it.
    customer_z: Customer
    alert_a: Alert
    alert_b: Alert
    handed_alert: Alert
    # Opens customer_a's answered survey (its survey, thank-you and unsubscribe pages).
    survey_token: str
    # The file name of that survey's email in the dev mailbox (settings.MAILBOX_DIR).
    mail: str

    ROLES = ("anonymous", "manager_a", "manager_b", "manager_c", "staff")

    def user(self, role: str) -> AbstractUser | None:
        return None if role == "anonymous" else getattr(self, role)

    def readable(self, role: str) -> list[Customer]:
        """The customers `role` may read: staff all; a, c (through the alert handed to
        them) customer A; b customer B; anonymous none."""
        return {
            "anonymous": [], "manager_a": [self.customer_a], "manager_b": [self.customer_b],
            "manager_c": [self.customer_a], "staff": [self.customer_a, self.customer_b, self.customer_z],
        }[role]

    def hidden_secrets(self, role: str) -> list[str]:
        """Strings that give away a customer `role` may not read: none may be in a body
        shown to them."""
        readable = {customer.pk for customer in self.readable(role)}
        return [secret for customer in (self.customer_a, self.customer_b, self.customer_z)
                if customer.pk not in readable for secret in secrets(customer)]


def secrets(customer: Customer) -> list[str]:
    letter = customer.name.removeprefix("Customer ")
    return [customer.name, customer.external_id, f"buyer@customer-{letter.lower()}.test",
            f"Crushed pallets on order {letter}-77.", f"INV-{letter}-1"]


def _book(manager: AbstractUser | None, letter: str) -> tuple[Customer, Alert, str]:
    """One customer of `manager` with contacts, paid and unpaid invoices, a delivery whose
    survey was answered at risk, and the alert that raised; and the survey link's token.
    Its name, external id, contact's address, comment and invoice number are its own
    (`secrets`), so a body can be searched for them."""
    upper = letter.upper()
    customer = CustomerFactory(name=f"Customer {upper}", external_id=f"CRM-{upper}-ACCOUNT", account_manager=manager,
                               tier=1)
    contact = ContactFactory(customer=customer, name=f"Contact {upper}", email=f"buyer@customer-{letter}.test")
    ContactFactory(customer=customer)
    InvoiceFactory(customer=customer, number=f"INV-{upper}-1")
    InvoiceFactory(customer=customer, paid_on=None)
    token = f"site-map-survey-token-of-customer-{letter}"
    invitation = sent_invitation(token=token, delivery__customer=customer, delivery__contact=contact)
    response = ResponseFactory(customer=customer, invitation=invitation, score=3,
                               comment=f"Crushed pallets on order {upper}-77.")
    invitation.status = InvitationStatus.RESPONDED
    invitation.save(update_fields=["status"])
    alert = AlertFactory(customer=customer, response=response)
    return customer, alert, token


def build_portfolio() -> Portfolio:
    manager_a = UserFactory(username="manager_a", first_name="Ada")
    manager_b = UserFactory(username="manager_b", first_name="Bob")
    manager_c = UserFactory(username="manager_c", first_name="Cy")
    staff = StaffFactory(username="staff", is_superuser=True)
    customer_a, alert_a, token = _book(manager_a, "a")
    customer_b, alert_b, _ = _book(manager_b, "b")
    customer_z, _, _ = _book(None, "z")
    handed_alert = AlertFactory(customer=customer_a, assignee=manager_c, score=2)
    # Staff closed unmanaged customer Z at risk (its admin pages show it); A and B stay listed.
    AtRiskClosure.objects.create(customer=customer_z, response=customer_z.responses.get(), closed_by=staff,
                                 reason="Renewed for a year.")
    AlertNote.objects.create(alert=alert_a, author=manager_a, text="Called them; a fix ships Friday.")
    # A row for each model of the admin, so every change page has one to show.
    Group.objects.get_or_create(name="CX leads")
    AuthToken.objects.create(user=staff)
    SentMessageFactory()
    AnswerCountState.objects.get_or_create(pk=1)
    SignInPolicy.current()
    SenderFactory(name="Acme Boilers", is_default=True, footer="Acme Boilers Ltd · 1 High Street, Leeds", logo=True)
    # What django-axes records of sign-ins: a failure, a lockout's attempts, a success.
    attempt = {"username": "someone", "ip_address": "203.0.113.9", "user_agent": "test", "http_accept": "*/*",
               "path_info": "/login/"}
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**attempt)
    AccessLog.objects.create(**attempt)

    invitation = alert_a.response.invitation
    email = survey_invitation(invitation, token=token, unsubscribe_token=token)
    get_connection("core.mailbox.MailboxBackend").send_messages([email])
    mail = dev_mailbox.list_messages()[0].name  # newest first: the one just sent
    return Portfolio(
        manager_a=manager_a, manager_b=manager_b, manager_c=manager_c, staff=staff,
        customer_a=customer_a, customer_b=customer_b, customer_z=customer_z, alert_a=alert_a, alert_b=alert_b,
        handed_alert=handed_alert, survey_token=token, mail=mail,
    )


@dataclass(frozen=True)
class Page:
    route: str  # the route's name ("insights:alert"), or its pattern when it has none
    url: str
    html: bool = True  # False: a file (CSV, JavaScript), not a page a browser renders


# Routes never visited with GET, and why.
EXCLUDED: dict[str, str] = {
    "logout": "POST only (Django's LogoutView)",
    "admin:logout": "POST only (Django's LogoutView)",
    "insights:acknowledge": "POST only: an action on the alert page",
    "insights:note": "POST only: an action on the alert page",
    "insights:resolve": "POST only: an action on the alert page",
    "insights:reassign": "POST only: an action on the alert page",
    "insights:reopen": "POST only: an action on the alert page",
    "insights:acknowledge-many": "POST only: the queue's bulk acknowledge",
    "insights:close-at-risk": "POST only: staff's action on the customers at risk page",
    "insights:confirm-scanner": "POST only: an action on the possible scanners page",
    "insights:dismiss-scanner": "POST only: an action on the possible scanners page",
    "customers:reenable": "POST only: an action on the deliverability page",
    "customers:resume-sending": "POST only: an action on the deliverability page",
    "admin:autocomplete": "JSON for the admin's autocomplete widgets, answers only with their query parameters",
    "admin:view_on_site": "a redirect to the object's page on the site, which is visited itself",
    "admin/(?P<url>.*)$": "the admin's catch-all: any unknown address under /admin/",
    "oidc_authentication_init": "single sign-on: redirects to the identity provider (tests/accounts, with a real one)",
    "oidc_authentication_callback": "single sign-on: the provider's redirect back (tests/accounts)",
}
# Whole branches of routes that are no pages.
EXCLUDED_PREFIXES: dict[str, str] = {
    "api/v1/": "the REST API (JSON, token auth): tested by the API tests",
    "anymail/": "the email providers' webhooks: POST only, basic auth",
}
# Routes that answer with a file rather than a page.
FILES = {"insights:export-responses", "insights:export-customers", "api-schema", "admin:jsi18n", "surveys:logo",
         "health-live", "metrics"}

_ADMIN_OBJECT = re.compile(r"admin:(?P<app>\w+?)_(?P<model>[a-z0-9]+)_(change|delete|history)$")


def _admin_object(route: str, portfolio: Portfolio) -> list[dict[str, object]]:
    match = _ADMIN_OBJECT.match(route)
    if not match:
        return []
    model = apps.get_model(match["app"], match["model"])
    instance = model._default_manager.order_by("pk").first()
    if instance is None:
        raise LookupError(f"{route}: build_portfolio() makes no {model._meta.label} to show; make one there.")
    return [{"object_id": instance.pk}]


# The values of each route's path parameters: a list of kwargs, one URL each.
PARAMETERS: dict[str, Callable[[Portfolio], list[dict[str, object]]]] = {
    "customers:detail": lambda p: [{"pk": p.customer_a.pk}],
    # GET asks staff to confirm; only the POST erases (tests/test_access_matrix.py posts it as each role).
    "customers:erase-contact": lambda p: [{"pk": p.customer_a.contacts.order_by("pk").first().pk}],
    "insights:timeline": lambda p: [{"pk": p.customer_a.pk}],
    # An alert every role but anonymous can open: manager_a's customer's, handed to manager_c.
    "insights:alert": lambda p: [{"pk": p.handed_alert.pk}],
    "insights:quadrant": lambda p: [{"name": name} for name in ("protect", "maintain", "grow", "rethink")],
    "surveys:respond": lambda p: [{"token": p.survey_token}],
    "surveys:thanks": lambda p: [{"token": p.survey_token}],
    "surveys:unsubscribe": lambda p: [{"token": p.survey_token}],
    "surveys:logo": lambda p: [{"digest": Sender.default().logo_digest}],
    "mailbox-message": lambda p: [{"name": p.mail}],
    "mailbox-message-html": lambda p: [{"name": p.mail}],
    "admin:auth_user_password_change": lambda p: [{"id": p.staff.pk}],
    "admin:app_list": lambda p: [
        {"app_label": label} for label in sorted({model._meta.app_label for model in admin.site._registry})
    ],
}


@dataclass(frozen=True)
class _Route:
    name: str | None
    pattern: str
    parameters: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.name or self.pattern


def _parameters(pattern: RoutePattern | RegexPattern) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):  # path(): <int:pk>
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)  # re_path(): (?P<name>...)


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "",
            parameters: tuple[str, ...] = ()) -> Iterator[_Route]:
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        found = parameters + _parameters(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, pattern, inner, found)
        elif isinstance(entry, URLPattern):
            yield _Route(name=f"{namespace}{entry.name}" if entry.name else None, pattern=pattern, parameters=found)


def _is_excluded(route: _Route) -> bool:
    if route.key in EXCLUDED or route.pattern.startswith(tuple(EXCLUDED_PREFIXES)):
        return True
    # The admin's `<object_id>/` only redirects to `<object_id>/change/`, which is visited.
    return route.name is None and route.pattern.startswith("admin/") and route.pattern.endswith("<path:object_id>/")


def page_urls(portfolio: Portfolio) -> list[Page]:
    """One URL for every route a browser can GET (several where a parameter has several
    kinds of value, such as the quadrants), filled in from `portfolio`."""
    pages: list[Page] = []
    untaught: list[str] = []
    for route in _routes(get_resolver()):
        if _is_excluded(route):
            continue
        if not route.parameters:
            url = reverse(route.name) if route.name else "/" + route.pattern
            pages.append(Page(route.key, url, html=route.key not in FILES))
            continue
        fill = PARAMETERS.get(route.key)
        values = fill(portfolio) if fill else _admin_object(route.key, portfolio) if route.name else []
        if not values or route.name is None:
            untaught.append(f"{route.key} ({', '.join(route.parameters)})")
            continue
        pages.extend(Page(route.key, reverse(route.name, kwargs=kwargs), html=route.key not in FILES)
                     for kwargs in values)
    if untaught:
        raise LookupError(
            "tests/support/site_map.py cannot fill in these routes' parameters; teach it in PARAMETERS "
            "or list the route in EXCLUDED with the reason: " + "; ".join(untaught)
        )
    return pages

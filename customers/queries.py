"""Reads for the customer pages and the API: who sees which customer, filtering and
sorting the list, invoice status; whether surveys reach a contact, as filters; the
deliverability page's figures and suppression list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, F, Model, Q, QuerySet, When
from django.db.models import Value
from django.db.models.functions import Coalesce, Lower, Replace, TruncDate
from django.http import QueryDict
from django.utils import timezone

from core.models import DeliveryEvent, OutgoingMessage
from core.querystring import int_choice, is_id

from .models import Contact, Customer, Invoice, OptOutReason, Tier

M = TypeVar("M", bound=Model)

# Public sort names (what the query string says) mapped to model fields.
SORT_FIELDS = {
    "name": "name",
    "revenue": "revenue_12m",
    "tier": "tier",
    "score": "latest_score",
    "net_value": "net_value",
}
DEFAULT_SORT = "-revenue"
# The direction a column sorts in when first clicked: biggest first, except for
# names (A–Z) and tiers (tier 1, the most valuable, first).
FIRST_CLICK_ASCENDING = {"name", "tier"}
MAX_SEARCH_LENGTH = 100


@dataclass(frozen=True)
class SortLink:
    param: str  # the ?sort= value a click on the column header asks for
    aria_sort: str  # "ascending", "descending" or "none"


@dataclass(frozen=True)
class CustomerFilters:
    """The list's search, filters and sort, read leniently from the query string:
    anything unrecognised is ignored rather than answered with an error."""

    search: str = ""
    tier: int | None = None
    manager: str = ""  # "", "mine", "none" or a user id
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, query: QueryDict) -> CustomerFilters:
        tier = query.get("tier", "")
        manager = query.get("manager", "")
        sort = query.get("sort", "")
        return cls(
            search=query.get("q", "").strip()[:MAX_SEARCH_LENGTH],
            tier=int_choice(tier, Tier.values),
            manager=manager if manager in {"mine", "none"} or is_id(manager) else "",
            sort=sort if sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT,
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.search or self.tier or self.manager)

    def sort_links(self) -> dict[str, SortLink]:
        current = self.sort.removeprefix("-")
        descending = self.sort.startswith("-")
        links = {}
        for name in SORT_FIELDS:
            if name == current:
                links[name] = SortLink(
                    param=name if descending else f"-{name}",
                    aria_sort="descending" if descending else "ascending",
                )
            else:
                links[name] = SortLink(
                    param=name if name in FIRST_CLICK_ASCENDING else f"-{name}", aria_sort="none"
                )
        return links


def customers(*, filters: CustomerFilters, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    queryset = visible_customers(user).select_related("account_manager")
    if filters.search:
        queryset = search(queryset, filters.search)
    if filters.tier:
        queryset = queryset.filter(tier=filters.tier)
    if filters.manager == "mine":
        queryset = queryset.filter(account_manager_id=user.pk)
    elif filters.manager == "none":
        queryset = queryset.filter(account_manager__isnull=True)
    elif filters.manager:
        queryset = queryset.filter(account_manager_id=int(filters.manager))
    field = F(SORT_FIELDS[filters.sort.removeprefix("-")])
    # Customers without a tier or an answer sort last either way; name and id make
    # the order total, so no customer shows up on two pages.
    order = field.desc(nulls_last=True) if filters.sort.startswith("-") else field.asc(nulls_last=True)
    return queryset.order_by(order, "name", "pk")


# What a name search ignores, besides case: "crescent interiors co" finds
# "Crescent Interiors Co.", "o'neil" finds "O’Neil & Sons", "abc" finds "A.B.C.".
IGNORED_IN_NAMES = " .,;:'’‘\"“”-–—&/\\()!?#+*_@"


def search_key(text: str) -> str:
    """`text` as the name search compares it: lower case, without spaces or punctuation."""
    return "".join(character for character in text.lower() if character.isalnum())


def _name_key() -> Lower:
    """The customer's name as `search_key` writes it, in SQL both SQLite and PostgreSQL
    run: the ignored characters replaced one by one."""
    expression = F("name")
    for character in IGNORED_IN_NAMES:
        expression = Replace(expression, Value(character), Value(""))
    return Lower(expression)


def search(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Customers whose name matches `text` ignoring case, spaces and punctuation, or
    whose name or external ID contains it as typed (any case)."""
    condition = Q(external_id__icontains=text) | Q(name__icontains=text)
    key = search_key(text)
    if key:
        queryset = queryset.alias(name_key=_name_key())
        condition |= Q(name_key__contains=key)
    return queryset.filter(condition)


# Who may read a customer besides staff and its account manager. Other apps add rules
# here (insights: a manager an alert of the customer was handed to), so that this app
# need not know of them; each rule returns the ids of the customers `user` may also read.
ExtraReaders = Callable[[AbstractBaseUser], QuerySet]
_extra_readers: list[ExtraReaders] = []


def also_visible(rule: ExtraReaders) -> ExtraReaders:
    """Registers `rule` (once, in an AppConfig.ready) with visible_customers."""
    if rule not in _extra_readers:
        _extra_readers.append(rule)
    return rule


def sees_everything(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def visible_customers(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """The one rule for who reads which customer, used by every page, fragment, export,
    API route and alert query: staff read all; an account manager the customers they
    manage plus those another app lets them read (an alert handed to them); anyone
    else none. Anything outside it answers 404, like an unknown id."""
    if sees_everything(user):
        return Customer.objects.all()
    if not (user.is_authenticated and user.is_active):
        return Customer.objects.none()
    return Customer.objects.filter(pk__in=_readable_ids(user))


def _readable_ids(user: AbstractBaseUser) -> QuerySet:
    """The ids of the customers an account manager may read: one UNION of the ids each
    part finds by its own index, rather than one OR that the database can only answer
    by reading every customer."""
    mine = Customer.objects.filter(account_manager=user).order_by().values("pk")
    return mine.union(*(readers(user).order_by() for readers in _extra_readers))


def visible_to(user: AbstractBaseUser | AnonymousUser, queryset: QuerySet[M], *, via: str) -> QuerySet[M]:
    """The part of `queryset` that `user` may read: rows whose customer, found at the
    path `via` ("customer" for contacts, invoices, answers and alerts), is visible."""
    if sees_everything(user):
        return queryset
    if not (user.is_authenticated and user.is_active):
        return queryset.none()
    return queryset.filter(**{f"{via}__in": _readable_ids(user)})


def account_managers() -> QuerySet:
    """Users who manage at least one customer, for the list's filter."""
    managing = Customer.objects.filter(account_manager__isnull=False).values("account_manager")
    return get_user_model().objects.filter(pk__in=managing).order_by("first_name", "last_name", "username")


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    status: str  # "paid", "unpaid" or "overdue"
    days_late: int


def recent_invoices(*, customer: Customer, today: date, limit: int) -> list[InvoiceRow]:
    return [
        InvoiceRow(invoice=invoice, status=invoice.payment_status(today), days_late=invoice.days_late(today))
        for invoice in customer.invoices.all()[:limit]
    ]


# --- The deliverability page.

DELIVERY_DAYS = 30


@dataclass(frozen=True)
class DeliveryDay:
    day: date
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    complained: int = 0
    failed: int = 0


def delivery_days(*, today: date, days: int = DELIVERY_DAYS) -> list[DeliveryDay]:
    """Per day in TIME_ZONE, newest first: messages sent and failed (the outbox), and
    what the provider reported: deliveries, hard bounces and spam complaints. Counted in
    the database, three queries whatever the volume."""
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=timezone.get_current_timezone())

    def per_day(queryset: QuerySet, field: str, **counts: Count) -> dict[date, dict[str, int]]:
        rows = queryset.filter(**{f"{field}__gte": since}).annotate(day=TruncDate(field)).values("day")
        return {row.pop("day"): row for row in rows.annotate(**counts).order_by()}

    sent = per_day(OutgoingMessage.objects.exclude(sent_at=None), "sent_at", sent=Count("pk"))
    failed = per_day(OutgoingMessage.objects.filter(status=OutgoingMessage.Status.FAILED), "updated_at",
                     failed=Count("pk"))
    events = per_day(
        DeliveryEvent.objects.all(),
        "occurred_at",
        delivered=Count("pk", filter=Q(event_type="delivered")),
        bounced=Count("pk", filter=Q(bounce=DeliveryEvent.Bounce.HARD)),
        complained=Count("pk", filter=Q(event_type="complained")),
    )
    return [
        DeliveryDay(day=day, **sent.get(day, {}), **failed.get(day, {}), **events.get(day, {}))
        for day in (today - timedelta(days=offset) for offset in range(days))
    ]


# Contact.unreachable_reason as filters, for questions about many contacts at once.
# "": surveys may reach the contact.
REACHABLE = Q(opted_out=False, undeliverable_at__isnull=True)
# "bounced" or "complained": mail cannot reach the address, or the person marked a
# survey as spam (a contact who had opted out of their own accord and then bounced is
# named by the opt-out, as the property names them).
LOST_TO_DELIVERY = Q(opted_out=False, undeliverable_at__isnull=False) | Q(
    opted_out=True, opt_out_reason=OptOutReason.COMPLAINED
)


def unreachable_since() -> Case:
    """Contact.unreachable_since as an expression: when the contact opted out (or
    complained), else when the address became undeliverable; null while reachable."""
    return Case(When(opted_out=True, then=F("opted_out_at")), default=F("undeliverable_at"))


def suppressed_contacts(*, search: str = "") -> QuerySet[Contact]:
    """Contacts no survey may reach because of their address: undeliverable (bounced)
    or complained, the latest first; `search` finds an address or a customer."""
    contacts = (
        Contact.objects.filter(
            Q(undeliverable_at__isnull=False) | Q(opted_out=True, opt_out_reason=OptOutReason.COMPLAINED)
        )
        .select_related("customer")
        .order_by(Coalesce("undeliverable_at", "opted_out_at").desc(), "email", "pk")
    )
    search = search.strip()[:MAX_SEARCH_LENGTH]
    if search:
        contacts = contacts.filter(Q(email__icontains=search) | Q(customer__name__icontains=search))
    return contacts

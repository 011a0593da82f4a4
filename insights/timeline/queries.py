"""A customer's whole story, newest first: every answer and comment with its contact,
every alert with its outcome and notes, deliveries, email events (bounces,
complaints, unsubscribes) and staff closing the customer's place among those at risk.

It lives in insights because it reads every app below it (customers, surveys, core's
delivery events, insights' alerts); the customer page includes it through the
section registry of customers.views.

A page is read in the database: one UNION of small per-kind queries (kind, id, time)
ordered by time and cut to the page, then one query per kind present on the page for
its rows (two for alerts: their notes), however long the story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Prefetch, QuerySet, Value
from django.db.models.functions import Lower

from core.models import DeliveryEvent
from customers.models import Contact, Customer, OptOutReason
from surveys.models import Delivery, Response

from ..models import Alert, AlertNote, AtRiskClosure

ENTRIES_PER_PAGE = 20

ANSWER, ALERT, DELIVERY, EMAIL_EVENT, OPT_OUT, CLOSURE = (
    "answer", "alert", "delivery", "email_event", "opt_out", "closure"
)
# The provider's events a person reading the story needs: mail that did not arrive or
# was not wanted. Deliveries and opens would drown the rest.
TOLD_EVENTS = ("bounced", "rejected", "failed", "complained", "unsubscribed")


@dataclass(frozen=True)
class Entry:
    kind: str  # ANSWER, ALERT, …: which template draws it
    at: datetime
    item: Any  # the row: a Response, Alert, Delivery, DeliveryEvent, Contact or AtRiskClosure
    contact: Contact | None = None  # an email event's contact (by address)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _keys(queryset: QuerySet, kind: str, at: str) -> QuerySet:
    return queryset.order_by().annotate(entry_kind=Value(kind, output_field=CharField()), entry_at=F(at)).values_list(
        "entry_kind", "pk", "entry_at"
    )


def _customer_events(customer: Customer) -> QuerySet[DeliveryEvent]:
    addresses = Contact.objects.filter(customer=customer).annotate(address=Lower("email")).values("address")
    return DeliveryEvent.objects.filter(recipient__in=addresses, event_type__in=TOLD_EVENTS)


def entry_keys(customer: Customer, *, newest: int | None = None) -> QuerySet:
    """(kind, id, time) of every entry of the customer's story, newest first (of two at
    one moment, by kind, then the later row first): one UNION query. Given `newest`,
    the story's first `newest` entries only: where the database allows (PostgreSQL),
    each kind gives at most that many, its newest by index, so a page costs the same
    however long the story."""
    parts = [
        _keys(Response.objects.filter(customer=customer), ANSWER, "submitted_at"),
        _keys(Alert.objects.filter(customer=customer), ALERT, "created_at"),
        _keys(Delivery.objects.filter(customer=customer), DELIVERY, "delivered_at"),
        _keys(_customer_events(customer), EMAIL_EVENT, "occurred_at"),
        # Complaints are told by their email event; an unsubscribe or staff's opt-out here.
        _keys(
            Contact.objects.filter(customer=customer, opted_out=True, opted_out_at__isnull=False).exclude(
                opt_out_reason=OptOutReason.COMPLAINED
            ),
            OPT_OUT,
            "opted_out_at",
        ),
        _keys(AtRiskClosure.objects.filter(customer=customer), CLOSURE, "closed_at"),
    ]
    if newest is not None and connection.features.supports_slicing_ordering_in_compound:
        parts = [part.order_by("-entry_at", "-pk")[:newest] for part in parts]
    first, *rest = parts
    return first.union(*rest, all=True).order_by("-entry_at", "entry_kind", "-pk")


def _rows(kind: str, ids: list[int], customer: Customer) -> dict[int, Any]:
    """The rows of one kind on the page, with what their entry shows, in one query
    (alerts: two, their notes with authors)."""
    if kind == ANSWER:
        rows = Response.objects.select_related("invitation__contact", "invitation__delivery", "survey")
    elif kind == ALERT:
        notes = AlertNote.objects.select_related("author").order_by("created_at", "pk")
        rows = Alert.objects.select_related("assignee").prefetch_related(Prefetch("notes", queryset=notes))
    elif kind == DELIVERY:
        rows = Delivery.objects.select_related("contact", "invitation")
    elif kind == EMAIL_EVENT:
        rows = DeliveryEvent.objects.all()
    elif kind == OPT_OUT:
        rows = Contact.objects.all()
    else:
        rows = AtRiskClosure.objects.select_related("closed_by", "response")
    return rows.in_bulk(ids)


def timeline_page(*, customer: Customer, number: int, per_page: int = ENTRIES_PER_PAGE) -> TimelinePage:
    """Page `number` (from 1) of the customer's story, newest first. The caller has
    checked that the user may see the customer."""
    number = max(number, 1)
    start = (number - 1) * per_page
    keys = list(entry_keys(customer, newest=start + per_page + 1)[start : start + per_page + 1])
    has_next = len(keys) > per_page
    keys = keys[:per_page]
    wanted: dict[str, list[int]] = {}
    for kind, pk, _at in keys:
        wanted.setdefault(kind, []).append(pk)
    rows = {kind: _rows(kind, ids, customer) for kind, ids in wanted.items()}
    contacts = _contacts_by_address(customer) if EMAIL_EVENT in wanted else {}
    entries = []
    for kind, pk, at in keys:
        item = rows[kind].get(pk)
        if item is None:
            continue  # deleted between the two reads
        contact = contacts.get(item.recipient) if kind == EMAIL_EVENT else None
        entries.append(Entry(kind=kind, at=at, item=item, contact=contact))
    return TimelinePage(entries=entries, number=number, has_next=has_next)


def _contacts_by_address(customer: Customer) -> dict[str, Contact]:
    return {contact.email.lower(): contact for contact in Contact.objects.filter(customer=customer)}

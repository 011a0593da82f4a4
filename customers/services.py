from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, Greatest, Lower, NullIf
from django.utils import timezone

from core import audit, erasure
from core.queue import enqueue_on_commit

from .models import Contact, Customer, Invoice, Language, MetricsDay, OptOutReason
from .signals import contact_erased, contact_unreachable, customers_changed
from .value import in_trailing_year, invoice_figures, moved_by_calendar

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Enqueued by name: customers.tasks imports this module.
RECOMPUTE_VALUE_METRICS = "customers.tasks.recompute_value_metrics"
RECOMPUTE_CUSTOMERS_VALUE_METRICS = "customers.tasks.recompute_customers_value_metrics"


@dataclass(frozen=True)
class InvoiceData:
    customer_id: int
    number: str
    amount: Decimal
    issued_on: date
    due_on: date
    paid_on: date | None = None


@dataclass(frozen=True)
class CustomerData:
    external_id: str
    name: str
    account_manager: AbstractBaseUser | None = None
    cost_to_serve: Decimal | None = None
    is_active: bool = True
    time_zone: str = ""


@dataclass(frozen=True)
class ContactData:
    customer_id: int
    email: str
    name: str | None = None
    # Set by upsert_contacts; ensure_contacts (contacts met through deliveries) leaves it.
    language: str | None = None


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int


# The nightly recompute reads every customer when the last such recompute is this old:
# a safety net for what no write announced (a lost task, rows written in SQL).
FULL_RECOMPUTE_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class NightlyRecompute:
    as_of: date
    # The day the figures were true for before (every customer read: None).
    since: date | None
    # Customers whose figures were recomputed (None: every customer), and written.
    read: int | None
    written: int

    @property
    def full(self) -> bool:
        return self.since is None


def recompute_value_metrics(*, as_of: date | None = None, thresholds: Sequence[int] | None = None) -> int:
    """The full recompute: every customer's value metrics from all its invoices, then
    every tier (`manage.py recompute_tiers --full`, the admin's action, the first night).

    Revenue is what was invoiced in the trailing 12 months, paid or not. Punctuality
    looks at the invoices of that window whose outcome is known: paid ones, and unpaid
    ones already past due (late until paid). Only customers whose figures changed are
    written (their `metrics_updated_at` says when); returns how many that was.
    """
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        day = _locked_metrics_day()
        written = _recompute(as_of, None, thresholds)
        day.as_of = day.full_as_of = as_of
        day.save()
    logger.info("Recomputed value metrics of every customer as of %s: %d customers changed", as_of, written)
    return written


def recompute_value_metrics_nightly(
    *, as_of: date | None = None, thresholds: Sequence[int] | None = None
) -> NightlyRecompute:
    """The night's recompute (Celery beat, `manage.py recompute_tiers`): the customers
    whose figures the calendar alone can have moved since the day they were last true
    for (customers.value.moved_by_calendar: an invoice entering or leaving the 12
    months, or falling due unpaid; after a missed night, every day since), and any never
    measured; then every tier ranked again from the stored revenues. A customer whose
    invoices were written in between was recomputed then (recompute_customers_value_metrics).

    Every customer is read instead (recompute_value_metrics) on the first night, when
    the stored day is after `as_of`, or when the last full recompute is
    FULL_RECOMPUTE_EVERY old.
    """
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        day = _locked_metrics_day()
        if day.as_of is None or day.as_of > as_of or as_of - day.full_as_of >= FULL_RECOMPUTE_EVERY:
            since, customer_ids = None, None
            day.full_as_of = as_of
        else:
            since, customer_ids = day.as_of, _moved_customers(day.as_of, as_of)
        written = _recompute(as_of, customer_ids, thresholds)
        day.as_of = as_of
        day.save()
    night = NightlyRecompute(
        as_of=as_of, since=since, read=None if customer_ids is None else len(customer_ids), written=written
    )
    logger.info("Nightly recompute of value metrics: %s", night)
    return night


def recompute_customers_value_metrics(*, customer_ids: Collection[int], thresholds: Sequence[int] | None = None) -> int:
    """After these customers' invoices or the customers themselves were written: their
    value metrics as of today (or as of the stored day, when a recompute ran ahead of
    today), then every tier ranked again from the stored revenues, since one customer's
    revenue moves the others' shares. Returns how many customers were written."""
    with transaction.atomic():
        day = _locked_metrics_day()
        as_of = max(timezone.localdate(), day.as_of or date.min)
        return _recompute(as_of, sorted(set(customer_ids)), thresholds)


def _locked_metrics_day() -> MetricsDay:
    day = MetricsDay.objects.select_for_update().filter(pk=1).first()
    if day is None:  # the first recompute
        MetricsDay.objects.bulk_create([MetricsDay(pk=1)], ignore_conflicts=True)
        day = MetricsDay.objects.select_for_update().get(pk=1)
    return day


def _moved_customers(since: date, as_of: date) -> list[int]:
    """The customers with an invoice that the days from `since` to `as_of` can have
    moved, and those never measured (added in SQL, or whose task was lost)."""
    moved = Invoice.objects.filter(moved_by_calendar(since, as_of)).values_list("customer_id").order_by()
    unmeasured = Customer.objects.filter(metrics_updated_at__isnull=True).values_list("pk").order_by()
    return [customer_id for (customer_id,) in moved.union(unmeasured)]


def _recompute(as_of: date, customer_ids: Sequence[int] | None, thresholds: Sequence[int] | None) -> int:
    """The figures of these customers (None: all), then every tier; announces the
    customers written (customers_changed) and returns how many they were."""
    thresholds = tuple(thresholds or settings.VALUEPULSE_TIER_THRESHOLDS)
    written = _update_metrics(as_of, customer_ids) | _update_tiers(thresholds)
    if written:
        # None: any customer may have changed (a full recompute may write every one).
        customers_changed.send(sender=Customer, customer_ids=None if customer_ids is None else sorted(written))
    return len(written)


def _update_metrics(as_of: date, customer_ids: Sequence[int] | None) -> set[int]:
    """customers.value.invoice_figures of these customers (None: all) in one statement:
    one GROUP BY over their invoices of the 12 months, joined to the customers, writing
    only those whose figures changed. Returns their ids."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    invoices = Invoice.objects.filter(in_trailing_year(as_of))
    narrowed, also, ids = "", "", []
    if customer_ids is not None:
        if not customer_ids:
            return set()
        invoices = invoices.filter(customer_id__in=customer_ids)
        # On both sides of the join, so the customers are found by their key.
        within = f"IN ({', '.join(['%s'] * len(customer_ids))})"
        narrowed, ids = f"WHERE customer.id {within}", list(customer_ids)
        also = f"AND {table}.id {within}"
    totals, totals_params = invoices.values("customer").annotate(**invoice_figures(as_of)).order_by().query.sql_with_params()
    changed = " OR ".join(f"{table}.{column} {_differs()} figures.{column}" for column in _MEASURED)
    assigned = ", ".join(f"{column} = figures.{column}" for column in _MEASURED)
    parts = ", ".join(f"COALESCE(totals.{part}, 0) AS {part}" for part in _LATENESS_PARTS)
    # The only text put into the SQL is the model's own quoted table and column names and
    # the SQL Django compiled for the totals; every value is a parameter (hence the nosec B608).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET {assigned}, metrics_updated_at = %s
            FROM (
                SELECT customer.id, COALESCE(totals.revenue, 0) AS revenue_12m,
                    COALESCE(totals.revenue, 0) - COALESCE(customer.cost_to_serve, 0) AS net_value,
                    totals.on_time_rate, {parts}
                FROM {table} AS customer LEFT JOIN ({totals}) AS totals ON totals.customer = customer.id
                {narrowed}
            ) AS figures
            WHERE {table}.id = figures.id {also} AND ({changed} OR {table}.metrics_updated_at IS NULL)
            RETURNING {table}.id
            """,  # nosec B608
            [timezone.now(), *totals_params, *ids, *ids],
        )
        return {customer_id for (customer_id,) in cursor.fetchall()}


def _update_tiers(thresholds: Sequence[int]) -> set[int]:
    """Every customer's Pareto tier from the stored revenues (the rule
    tests/customers/test_tiers.py spells out in Python), writing only the tiers that
    change; returns those customers' ids. `before` is the revenue of the active
    customers ranked strictly above (ties share a rank), the sum over every group of
    equal revenues ahead in one descending sort (a GROUPS frame ending one group back;
    inactive customers are ranked too but count for nothing), read in revenue order from
    customer_ranking_idx. Inactive customers have no tier.

    The tiers that change are read first and then written by their keys: a night moves
    a few dozen, which a join of the ranking back to every customer would cost far more."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    active_revenue = "CASE WHEN is_active THEN revenue_12m ELSE 0 END"
    # Each share compared as before * 100 < threshold * total, in exact decimals.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, tier FROM (
                SELECT id, tier AS stored, CASE
                    WHEN NOT is_active THEN NULL
                    WHEN total <= 0 OR revenue_12m <= 0 THEN 4
                    WHEN before < first THEN 1
                    WHEN before < second THEN 2
                    WHEN before < third THEN 3
                    ELSE 4 END AS tier
                FROM (
                    SELECT id, tier, is_active, revenue_12m, 100 * COALESCE(SUM({active_revenue}) OVER (
                        ORDER BY revenue_12m DESC GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                    ), 0) AS before
                    FROM {table}
                ) AS ranked CROSS JOIN (
                    SELECT SUM({active_revenue}) AS total, %s * SUM({active_revenue}) AS first,
                        %s * SUM({active_revenue}) AS second, %s * SUM({active_revenue}) AS third
                    FROM {table}
                ) AS shares
            ) AS tiers
            WHERE stored {_differs()} tier
            """,  # nosec B608
            list(thresholds),
        )
        moved = cursor.fetchall()
        now = timezone.now()
        for start in range(0, len(moved), 1000):
            batch = moved[start:start + 1000]
            cursor.execute(
                f"""
                WITH moved (id, tier) AS (VALUES {", ".join(["(%s, %s)"] * len(batch))})
                UPDATE {table} SET tier = CAST(moved.tier AS smallint), metrics_updated_at = %s
                FROM moved WHERE {table}.id = moved.id
                """,  # nosec B608
                [*(value for row in batch for value in row), now],
            )
    return {customer_id for customer_id, _ in moved}


def _differs() -> str:
    """NULL-safe "differs": PostgreSQL's spelling, and SQLite's."""
    return "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"


_LATENESS_PARTS = ("decided_invoices", "days_late_paid", "overdue_invoices", "overdue_due_days")
# What the recompute writes from the invoices (the tier is ranked after).
_MEASURED = ("revenue_12m", "net_value", "on_time_rate", *_LATENESS_PARTS)


def upsert_invoices(*, invoices: Sequence[InvoiceData]) -> UpsertResult:
    """Creates or updates invoices by customer + number in a few queries, then
    recomputes value metrics and tiers in the background once the import commits."""
    keys = {(invoice.customer_id, invoice.number) for invoice in invoices}
    with transaction.atomic():
        existing = set(
            Invoice.objects.filter(
                customer_id__in={customer_id for customer_id, _ in keys},
                number__in={number for _, number in keys},
            ).values_list("customer_id", "number")
        )
        Invoice.objects.bulk_create(
            [
                Invoice(
                    customer_id=invoice.customer_id,
                    number=invoice.number,
                    amount=invoice.amount,
                    issued_on=invoice.issued_on,
                    due_on=invoice.due_on,
                    paid_on=invoice.paid_on,
                )
                for invoice in invoices
            ],
            update_conflicts=True,
            unique_fields=["customer", "number"],
            update_fields=["amount", "issued_on", "due_on", "paid_on"],
            batch_size=1000,
        )
        request_customers_recompute({customer_id for customer_id, _ in keys})
    updated = len(keys & existing)
    return UpsertResult(created=len(keys) - updated, updated=updated)


# Customer fields whose change moves value metrics (net value) or tiers (only active
# customers are ranked).
_METRIC_INPUTS = {"cost_to_serve", "is_active"}


def customer_changed(*, customer: Customer, created: bool, fields: Collection[str]) -> None:
    """What follows a customer written by the API, an import or the admin: a new customer,
    or one whose cost to serve or activity changed, moves its value metrics and the
    tiers, which are recomputed once the transaction commits."""
    if created or set(fields) & _METRIC_INPUTS:
        request_customers_recompute([customer.pk])


def request_value_metrics_recompute() -> None:
    """Recomputes every customer's value metrics and tiers in the background, once the
    transaction commits (the admin's action): over a large portfolio it takes a while."""
    enqueue_on_commit(RECOMPUTE_VALUE_METRICS)


def request_customers_recompute(customer_ids: Collection[int]) -> None:
    """Recomputes these customers' value metrics, and every tier, in the background once
    the transaction commits (recompute_customers_value_metrics): what every write of
    invoices or of a customer's cost or activity asks for, so that the nightly recompute
    need only follow the calendar. They are marked unmeasured in the write's transaction,
    so that the next night reads them should the task never run (the broker down when
    the write committed: core.queue leaves it to a sweep, and the night is that sweep)."""
    if customer_ids:
        Customer.objects.filter(pk__in=customer_ids, metrics_updated_at__isnull=False).update(metrics_updated_at=None)
        enqueue_on_commit(RECOMPUTE_CUSTOMERS_VALUE_METRICS, sorted(customer_ids))


def save_customer(*, customer: Customer, created: bool, fields: Collection[str]) -> None:
    """Saves a customer edited as a whole (the admin's form), with what follows."""
    with transaction.atomic():
        customer.save()
        customer_changed(customer=customer, created=created, fields=fields)


def save_invoice(*, invoice: Invoice) -> None:
    """Saves an invoice edited as a whole (the admin's form); value metrics and tiers
    follow in the background."""
    with transaction.atomic():
        # An invoice moved to another customer moves both.
        before = list(Invoice.objects.filter(pk=invoice.pk).values_list("customer_id", flat=True))
        invoice.save()
        request_customers_recompute({invoice.customer_id, *before})


def delete_invoices(*, invoices: QuerySet[Invoice]) -> int:
    """Deletes the invoices; their customers' value metrics and the tiers follow in the
    background."""
    with transaction.atomic():
        customer_ids = set(invoices.values_list("customer_id", flat=True))
        deleted, _ = invoices.delete()
        request_customers_recompute(customer_ids)
    return deleted


def delete_customers(*, customers: QuerySet[Customer]) -> int:
    """Deletes the customers with everything of theirs (contacts, invoices, deliveries,
    answers, alerts). The tiers of the customers left are ranked again in the background,
    since each tier ranks a customer's revenue among all the others' (the next night
    does it, should that task never run). Returns how many rows were deleted."""
    with transaction.atomic():
        deleted, _ = customers.delete()
        if deleted:
            enqueue_on_commit(RECOMPUTE_CUSTOMERS_VALUE_METRICS, [])
    return deleted


def upsert_customer(
    *,
    external_id: str,
    name: str,
    account_manager: AbstractBaseUser | None = None,
    cost_to_serve: Decimal | None = None,
    is_active: bool = True,
    time_zone: str = "",
) -> tuple[Customer, bool]:
    """Creates the customer with this external ID, or replaces what an integrator may
    write about it. Returns the customer and whether it was created.

    Metrics and tiers are recomputed in the background after a commit that can move
    them; an unchanged customer is not written at all, so a repeated sync is cheap.
    """
    fields = {
        "name": name,
        "account_manager_id": account_manager.pk if account_manager else None,
        "cost_to_serve": cost_to_serve,
        "is_active": is_active,
        "time_zone": time_zone,
    }
    with transaction.atomic():
        customer, created = Customer.objects.select_for_update().get_or_create(
            external_id=external_id, defaults=fields
        )
        changed = set() if created else {field for field, value in fields.items() if getattr(customer, field) != value}
        if changed:
            for field in changed:
                setattr(customer, field, fields[field])
            customer.save(update_fields=[*changed, "updated_at"])
        customer_changed(customer=customer, created=created, fields=changed)
    # Callers show the manager's username; this spares them a query.
    customer.account_manager = account_manager
    return customer, created


def upsert_customers(*, customers: Sequence[CustomerData]) -> UpsertResult:
    """Creates or replaces customers by external ID in a few queries whatever their
    number, then recomputes value metrics and tiers in the background once committed.

    Each external ID may appear once: PostgreSQL refuses to update one row twice in a
    statement, so callers reject repeats first.
    """
    external_ids = {customer.external_id for customer in customers}
    with transaction.atomic():
        before = {customer.external_id: customer for customer in _audited_customers(external_ids)}
        Customer.objects.bulk_create(
            [
                Customer(
                    external_id=customer.external_id,
                    name=customer.name,
                    account_manager=customer.account_manager,
                    cost_to_serve=customer.cost_to_serve,
                    is_active=customer.is_active,
                    time_zone=customer.time_zone,
                )
                for customer in customers
            ],
            update_conflicts=True,
            unique_fields=["external_id"],
            update_fields=[*_CUSTOMER_FIELDS, "updated_at"],
            batch_size=1000,
        )
        after = _audited_customers(external_ids)
        audit.record_many(
            (
                customer,
                audit.changes(before.get(customer.external_id), customer, _CUSTOMER_FIELDS),
                audit.Action.UPDATE if customer.external_id in before else audit.Action.CREATE,
            )
            for customer in after
        )
        customers_changed.send(sender=Customer, customer_ids=[customer.pk for customer in before.values()])
        request_customers_recompute([customer.pk for customer in after])
    return UpsertResult(created=len(external_ids) - len(before), updated=len(before))


# What an integrator writes about a customer.
_CUSTOMER_FIELDS = ["name", "account_manager", "cost_to_serve", "is_active", "time_zone"]


def _audited_customers(external_ids: Collection[str]) -> list[Customer]:
    return list(Customer.objects.filter(external_id__in=external_ids).only("external_id", "pk", *_CUSTOMER_FIELDS))


def upsert_contact(
    *, customer: Customer, email: str, name: str | None = None, language: str | None = None
) -> tuple[Contact, bool]:
    """Creates the customer's contact with this email, or updates it. Returns the
    contact and whether it was created.

    Emails match case-insensitively (as the unique constraint does) and the address is
    kept as last given. `name` or `language` left as None keep an existing contact's
    value; a new contact gets a blank name and English. Opting out is the contact's own
    choice and never changes here, and an erased contact (named by its placeholder)
    stays as it is.
    """
    with transaction.atomic():
        # Locking the customer serialises two requests adding the same new address,
        # so the second updates instead of hitting the unique constraint.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        contact = (
            Contact.objects.filter(customer=customer)
            .alias(email_lower=Lower("email"))
            .filter(email_lower=Lower(Value(email)))
            .first()
        )
        if contact is None:
            contact = Contact.objects.create(
                customer=customer, email=email, name=name or "", language=language or Language.ENGLISH
            )
            return contact, True
        if contact.is_erased:
            return contact, False
        contact.email = email
        if name is not None:
            contact.name = name
        if language is not None:
            contact.language = language
        contact.save(update_fields=["email", "name", "language"])
    return contact, False


def ensure_contacts(*, contacts: Sequence[ContactData]) -> dict[tuple[int, str], Contact]:
    """Finds or creates contacts by customer + email (case-insensitive) in a few
    queries whatever their number; a name given replaces the stored one. Returns them
    keyed by (customer_id, lower-cased email).

    Callers lock the customers first (select_for_update), as upsert_contact does, so no
    one adds the same address in between.
    """
    wanted = {(contact.customer_id, contact.email.lower()): contact for contact in contacts}
    found = _contacts_by_email(wanted.keys())
    renamed = []
    for key, contact in found.items():
        name = wanted[key].name
        if name is not None and contact.name != name and not contact.is_erased:
            renamed.append((contact, {"name": [contact.name, name]}))
            contact.name = name
    Contact.objects.bulk_update([contact for contact, _ in renamed], ["name"], batch_size=1000)
    created = Contact.objects.bulk_create(
        [
            Contact(customer_id=data.customer_id, email=data.email, name=data.name or "")
            for key, data in wanted.items()
            if key not in found
        ],
        batch_size=1000,
    )
    audit.record_many([*renamed, *_created(created)])
    return found | {(contact.customer_id, contact.email.lower()): contact for contact in created}


def upsert_contacts(*, contacts: Sequence[ContactData]) -> UpsertResult:
    """Creates or updates contacts by customer + email (case-insensitive) in a few
    queries whatever their number, as upsert_contact does for one: the address is kept
    as last given, `name` or `language` left as None keep an existing contact's value,
    a new contact gets a blank name and English, and opting out never changes here (nor
    does an erased contact).

    Each customer + email may appear once: callers reject repeats first.
    """
    wanted = {(contact.customer_id, contact.email.lower()): contact for contact in contacts}
    with transaction.atomic():
        # Locked as upsert_contact does, so no one adds the same address in between.
        list(
            Customer.objects.select_for_update()
            .filter(pk__in={customer_id for customer_id, _ in wanted})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        found = _contacts_by_email(wanted.keys())
        changed = []
        for key, contact in found.items():
            data = wanted[key]
            values = {
                "email": data.email,
                "name": contact.name if data.name is None else data.name,
                "language": contact.language if data.language is None else data.language,
            }
            differences = {field: [getattr(contact, field), value] for field, value in values.items()}
            differences = {field: values for field, values in differences.items() if values[0] != values[1]}
            if differences and not contact.is_erased:
                for field, value in values.items():
                    setattr(contact, field, value)
                changed.append((contact, differences))
        Contact.objects.bulk_update([contact for contact, _ in changed], ["email", "name", "language"], batch_size=1000)
        created = Contact.objects.bulk_create(
            [
                Contact(
                    customer_id=data.customer_id,
                    email=data.email,
                    name=data.name or "",
                    language=data.language or Language.ENGLISH,
                )
                for key, data in wanted.items()
                if key not in found
            ],
            batch_size=1000,
        )
        audit.record_many([*changed, *_created(created)])
    return UpsertResult(created=len(wanted) - len(found), updated=len(found))


def _created(contacts: Sequence[Contact]) -> list[tuple]:
    """New contacts as the audit trail records them."""
    return [
        (contact, audit.changes(None, contact, ["customer", "email", "name", "language"]), audit.Action.CREATE)
        for contact in contacts
    ]


def _contacts_by_email(keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], Contact]:
    """The existing contacts among `keys` (customer_id, lower-cased email), so keyed."""
    candidates = (
        Contact.objects.filter(customer_id__in={customer_id for customer_id, _ in keys})
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in={email for _, email in keys})
    )
    wanted = set(keys)
    # The query also finds one customer's address at another customer asked about.
    return {
        (contact.customer_id, contact.email_lower): contact
        for contact in candidates
        if (contact.customer_id, contact.email_lower) in wanted
    }


def opt_out_contact(*, contact: Contact, reason: str = OptOutReason.UNSUBSCRIBED) -> None:
    """Records that the contact gets no more surveys, and why (OptOutReason); the first
    opt-out time is kept. A spam complaint replaces an earlier reason: it is the one
    that tells staff never to write again."""
    with transaction.atomic():
        before = Contact.objects.select_for_update().get(pk=contact.pk)
        opted_out = Contact.objects.filter(pk=contact.pk, opted_out=False).update(
            opted_out=True, opted_out_at=timezone.now(), opt_out_reason=reason
        )
        if not opted_out and reason == OptOutReason.COMPLAINED:
            opted_out = (
                Contact.objects.filter(pk=contact.pk).exclude(opt_out_reason=reason).update(opt_out_reason=reason)
            )
        contact.refresh_from_db(fields=_OPT_OUT_FIELDS)
        if opted_out:
            audit.record(contact, changes=audit.changes(before, contact, _OPT_OUT_FIELDS))
            announce_unreachable([(contact.pk, contact.customer_id)])
    if opted_out:
        logger.info("Contact %s opted out: %s", contact.pk, reason)


_OPT_OUT_FIELDS = ["opted_out", "opted_out_at", "opt_out_reason"]


def announce_unreachable(contacts: Iterable[tuple[int, int]]) -> None:
    """Sends contact_unreachable for each (contact id, customer id) once the caller's
    transaction commits (nothing if it rolls back). A receiver that fails is logged and
    never fails the caller: the contacts are already written, and a sweep reads them."""
    for contact_id, customer_id in contacts:
        transaction.on_commit(
            partial(contact_unreachable.send, sender=Contact, contact_id=contact_id, customer_id=customer_id),
            robust=True,
        )


def opt_in_contact(*, contact: Contact, by: AbstractBaseUser) -> None:
    """Staff record that an opted-out contact may be surveyed again (they asked, or the
    opt-out was a mistake). An erased contact stays opted out: there is no one to ask."""
    with transaction.atomic():
        before = Contact.objects.select_for_update().get(pk=contact.pk)
        opted_in = Contact.objects.filter(pk=contact.pk, opted_out=True, erased_at__isnull=True).update(
            opted_out=False, opted_out_at=None, opt_out_reason=""
        )
        contact.refresh_from_db(fields=_OPT_OUT_FIELDS)
        if opted_in:
            with audit.acting_as(by):
                audit.record(contact, changes=audit.changes(before, contact, _OPT_OUT_FIELDS))
    if opted_in:
        logger.info("Contact %s opted in again by %s (was: %s)", contact.pk, by, before.opt_out_reason or "opted out")


def upsert_invoice(
    *,
    customer: Customer,
    number: str,
    amount: Decimal,
    issued_on: date,
    due_on: date,
    paid_on: date | None = None,
) -> tuple[Invoice, bool]:
    """Creates or updates one invoice by customer + number, as upsert_invoices does for
    many. Returns the invoice and whether it was created."""
    data = InvoiceData(
        customer_id=customer.pk, number=number, amount=amount, issued_on=issued_on, due_on=due_on, paid_on=paid_on
    )
    with transaction.atomic():
        result = upsert_invoices(invoices=[data])
        invoice = Invoice.objects.get(customer=customer, number=number)
    invoice.customer = customer
    return invoice, result.created == 1


# --- Erasure on request (GDPR Article 17)


def erased_address(contact_id: int) -> str:
    """What stands in an erased contact's address: unique per contact (the customer's
    addresses are unique), reaching no one, telling nothing."""
    return erasure.placeholder_address(str(contact_id))


def erase_contact(*, contact: Contact, by: AbstractBaseUser) -> bool:
    """Erases a contact on request, for good, in one transaction: the name is blanked,
    the address replaced by a placeholder (erased_address), the contact opted out
    (reason "erased") and never surveyed again. Every app above scrubs what it keeps of
    them inside the same transaction (signals.contact_erased: comments, survey links,
    alert texts); core forgets the address in the outbox and the delivery events, and
    Django's admin history stops naming them. Scores stay, anonymous, in every figure.

    Returns whether this call erased the contact: erasing an erased contact changes
    nothing. `contact` is refreshed either way."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.erased_at is not None:
            contact.refresh_from_db()
            return False
        email, name = locked.email.strip().lower(), locked.name
        replacement = erased_address(locked.pk)
        now = timezone.now()
        Contact.objects.filter(pk=locked.pk).update(
            name="",
            email=replacement,
            opted_out=True,
            opted_out_at=locked.opted_out_at if locked.opted_out else now,
            opt_out_reason=OptOutReason.ERASED,
            # The address is gone, and what mail servers said of it with it.
            undeliverable_at=None,
            undeliverable_reason="",
            reenabled_at=None,
            erased_at=now,
        )
        contact.refresh_from_db()
        contact_erased.send(
            sender=Contact,
            contact_id=contact.pk,
            customer_id=contact.customer_id,
            email=email,
            name=name,
            replacement=replacement,
        )
        # Another customer's contact may have the same address: its mail history stays.
        if not Contact.objects.alias(email_lower=Lower("email")).filter(email_lower=email).exists():
            erasure.forget_address(address=email, replacement=replacement)
        _forget_in_admin_history(contact=contact, email=email, name=name)
        audit.redact(contact, fields=["name", "email"], object_repr=str(contact))
        # Survey sweeps see the contact opted out; insights re-reads whether the customer
        # can still be reached.
        announce_unreachable([(contact.pk, contact.customer_id)])
        record_erasure(contact=contact, by=by)
    return True


def record_erasure(*, contact: Contact, by: AbstractBaseUser) -> None:
    """What is kept of an erasure: who erased which contact (its id) and when, never
    what was erased: the audit trail's entry names the contact by its id and holds only
    the time of the erasure. Runs inside the erasing transaction."""
    with audit.acting_as(by):
        audit.record(contact, changes={"erased_at": [None, contact.erased_at]})
    logger.info("Contact %s of customer %s erased on request by %s", contact.pk, contact.customer_id, by)


def _forget_in_admin_history(*, contact: Contact, email: str, name: str) -> None:
    """Django's admin history names a contact by its str ("Name <address>") in the
    entries about it and about its customer (contacts changed inline)."""
    label = str(contact)
    contact_type = ContentType.objects.get_for_model(Contact)
    mentions = Q(change_message__icontains=email) | Q(object_repr__icontains=email)
    if name.strip():
        mentions |= Q(change_message__icontains=name.strip()) | Q(object_repr__icontains=name.strip())
    entries = LogEntry.objects.filter(
        Q(content_type=contact_type, object_id=str(contact.pk))
        | Q(mentions, content_type=ContentType.objects.get_for_model(Customer), object_id=str(contact.customer_id))
    )
    for entry in entries.only("pk", "content_type_id", "object_repr", "change_message"):
        about_contact = entry.content_type_id == contact_type.pk
        repr_ = label if about_contact else _redacted(entry.object_repr, email=email, name=name, label=label)
        message = _redacted(entry.change_message, email=email, name=name, label=label)
        if (repr_, message) != (entry.object_repr, entry.change_message):
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=repr_[:200], change_message=message)


def _redacted(text: str, *, email: str, name: str, label: str) -> str:
    text = erasure.redact(text, f"{name} <{email}>", label) if name else text
    text = erasure.redact(text, email, label)
    return erasure.redact_name(text, name, label)

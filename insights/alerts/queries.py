"""Reads for pages, exports and the API. Who may see which alert is decided here, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import QueryDict

from core.querystring import int_choice, is_id
from customers.models import HIGH_VALUE_TIERS, Band, Contact, Customer, Invoice, Tier
from customers.queries import (
    LOST_TO_DELIVERY,
    MAX_SEARCH_LENGTH,
    REACHABLE,
    account_managers,
    sees_everything,
    unreachable_since,
    visible_customers,
    visible_to,
)
from customers.value import trailing_year_start
from surveys.models import Response, ResponseRevision
from surveys.suspicion import Version, current_burst, scores_seen

from ..models import Alert, AlertKind, AlertNote, AlertStatus, AtRiskClosure, NoteKind, Priority

# What the queue shows unless asked otherwise: everything still being worked.
UNRESOLVED = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
ALL_STATUSES = "all"


def alerts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Alert]:
    """The alerts of the customers `user` may read (customers.queries.visible_customers)."""
    return visible_to(user, Alert.objects.all(), via="customer")


def customers_handed_to(user: AbstractBaseUser) -> QuerySet:
    """The ids of the customers with an alert handed to `user`: they may read those
    customers too (registered with visible_customers in InsightsConfig.ready)."""
    return Alert.objects.filter(assignee=user).values("customer_id")


def worklist(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Alert]:
    """The alerts in the user's queue: for staff every alert; for an account manager
    those of the customers they manage and those handed to them. (They may open the
    other alerts of a customer whose alert was handed to them, but those are not theirs
    to work.)"""
    alerts = alerts_visible_to(user)
    if sees_everything(user):
        return alerts
    return alerts.filter(Q(customer__account_manager=user) | Q(assignee=user))


def open_alert_count(user: AbstractBaseUser | AnonymousUser) -> int:
    return worklist(user).filter(status=AlertStatus.OPEN).count()


@dataclass(frozen=True)
class AlertFilters:
    """The queue's filters, read leniently from the query string: anything
    unrecognised is ignored rather than answered with an error."""

    assignee: str = ""  # "", "none" (the CX leads) or a user id
    tier: int | None = None
    status: str = ""  # "" (not resolved), a status, or "all"
    priority: int | None = None
    kind: str = ""
    search: str = ""  # a customer's name or external id, or part of it

    @classmethod
    def from_query(cls, query: QueryDict) -> AlertFilters:
        assignee = query.get("assignee", "")
        status = query.get("status", "")
        kind = query.get("kind", "")
        return cls(
            assignee=assignee if assignee == "none" or is_id(assignee) else "",
            tier=int_choice(query.get("tier", ""), Tier.values),
            status=status if status in {*AlertStatus.values, ALL_STATUSES} else "",
            priority=int_choice(query.get("priority", ""), Priority.values),
            kind=kind if kind in AlertKind.values else "",
            search=query.get("q", "").strip()[:MAX_SEARCH_LENGTH],
        )

    @classmethod
    def search_only(cls, query: QueryDict) -> AlertFilters:
        """An account manager's queue is theirs whole; they may search it by customer."""
        return cls(search=query.get("q", "").strip()[:MAX_SEARCH_LENGTH])

    @property
    def is_filtered(self) -> bool:
        return bool(self.assignee or self.tier or self.status or self.priority or self.kind or self.search)


def alert_queue(*, user: AbstractBaseUser | AnonymousUser, filters: AlertFilters) -> QuerySet[Alert]:
    """The alerts the user may see, most urgent first: priority, then revenue at stake,
    then age; the id makes the order total, so no alert shows up on two pages."""
    queryset = worklist(user).select_related("customer", "assignee")
    if filters.status == ALL_STATUSES:
        pass
    elif filters.status:
        queryset = queryset.filter(status=filters.status)
    else:
        queryset = queryset.filter(status__in=UNRESOLVED)
    if filters.assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee:
        queryset = queryset.filter(assignee_id=int(filters.assignee))
    if filters.tier:
        queryset = queryset.filter(tier=filters.tier)
    if filters.priority:
        queryset = queryset.filter(priority=filters.priority)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.search:
        queryset = queryset.filter(
            Q(customer__name__icontains=filters.search) | Q(customer__external_id__icontains=filters.search)
        )
    return queryset.order_by("priority", "-revenue_12m", "created_at", "pk")


def customers_at_risk() -> QuerySet[Customer]:
    """Active tier 1 customers whose latest stable (not suspect) answer is at risk, and
    that staff have not closed for that answer (AtRiskClosure): they stay in view
    whatever became of their alerts, until a better answer comes or staff close them
    with a reason. Annotated with that answer: `at_risk_answer` (its id),
    `at_risk_score`, `at_risk_at`; most valuable first."""
    latest = Response.objects.filter(customer=OuterRef("pk"), is_suspect=False).order_by("-submitted_at", "-pk")
    return (
        Customer.objects.filter(is_active=True, tier=Tier.ONE)
        .annotate(
            at_risk_answer=Subquery(latest.values("pk")[:1]),
            latest_stable_band=Subquery(latest.values("band")[:1]),
        )
        .filter(latest_stable_band=Band.AT_RISK)
        .exclude(Exists(AtRiskClosure.objects.filter(response_id=OuterRef("at_risk_answer"))))
        .annotate(at_risk_score=Subquery(latest.values("score")[:1]), at_risk_at=Subquery(latest.values("submitted_at")[:1]))
        .order_by("-revenue_12m", "name", "pk")
    )


def customers_at_risk_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """The customers at risk `user` may see (visible_customers): staff all, an account
    manager their own book."""
    if sees_everything(user):
        return customers_at_risk()
    return customers_at_risk().filter(pk__in=visible_customers(user).values("pk"))


def assignable_users() -> QuerySet:
    """Whom an alert may be handed to, besides the CX leads: active account managers."""
    return account_managers().filter(is_active=True)


# --- The alert page


@dataclass(frozen=True)
class InvoiceSummary:
    count: int
    total: Decimal
    overdue: int


def invoice_summary(*, customer: Customer, today: date) -> InvoiceSummary:
    """Invoices issued in the last 12 months: how many, how much, how many overdue."""
    totals = Invoice.objects.filter(customer=customer, issued_on__gt=trailing_year_start(today), issued_on__lte=today).aggregate(
        count=Count("pk"),
        total=Sum("amount"),
        overdue=Count("pk", filter=Q(paid_on__isnull=True, due_on__lt=today)),
    )
    return InvoiceSummary(count=totals["count"], total=totals["total"] or Decimal("0"), overdue=totals["overdue"])


@dataclass(frozen=True)
class Answer:
    pk: int
    score: int
    band: str
    submitted_at: datetime

    @property
    def band_label(self) -> str:
        return Band(self.band).label


def score_history(*, customer: Customer, limit: int) -> list[Answer]:
    """The customer's latest answers from any contact, oldest first."""
    rows = (
        Response.objects.filter(customer=customer)
        .order_by("-submitted_at", "-pk")
        .values_list("pk", "score", "band", "submitted_at")[:limit]
    )
    return [Answer(*row) for row in reversed(rows)]


def other_contacts_answers(*, response: Response, limit: int) -> QuerySet[Response]:
    """Recent answers from the customer's other contacts: is it one unhappy person or
    the whole account?"""
    others = _answers_of(response.customer_id).exclude(invitation__contact_id=response.invitation.contact_id)
    return others[:limit]


def recent_answers(*, customer_id: int, limit: int) -> QuerySet[Response]:
    """The customer's latest answers from any contact, newest first."""
    return _answers_of(customer_id)[:limit]


def _answers_of(customer_id: int) -> QuerySet[Response]:
    return (
        Response.objects.filter(customer_id=customer_id)
        .select_related("invitation__contact")
        .order_by("-submitted_at", "-pk")
    )


def at_risk_below(*, customer: Customer) -> int | None:
    """Where the at-risk band ends for the customer's latest answer's survey: the score
    chart of an alert with no answer of its own shades below it. None without answers."""
    return (
        Response.objects.filter(customer=customer)
        .order_by("-submitted_at", "-pk")
        .values_list("survey__satisfied_min", flat=True)
        .first()
    )


def contacts_of(*, customer: Customer) -> QuerySet[Contact]:
    return Contact.objects.filter(customer=customer).order_by("name", "email", "pk")


# --- Possible scanners: suspect answers waiting for a person's decision


def possible_scanners(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Response]:
    """Suspect answers nobody has confirmed or dismissed yet, of the customers `user` may
    read: at-risk ones first (confirming those raises an alert), then the newest."""
    waiting = Response.objects.filter(is_suspect=True, suspect_review="")
    return (
        visible_to(user, waiting, via="customer")
        .select_related("customer", "invitation__contact", "invitation__delivery")
        .order_by(Case(When(band=Band.AT_RISK, then=Value(0)), default=Value(1)), "-submitted_at", "-pk")
    )


def answers_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Response]:
    return visible_to(user, Response.objects.all(), via="customer")


@dataclass(frozen=True)
class PossibleScanner:
    """One suspect answer as the list shows it: the scores the burst gave, and how soon
    after the email it began."""

    response: Response
    scores_seen: list[int]
    seconds_after_email: int

    @property
    def raises_alert(self) -> bool:
        return self.response.band == Band.AT_RISK


def possible_scanner_rows(responses: list[Response]) -> list[PossibleScanner]:
    """The rows for a page of possible_scanners(), their revisions read in one query."""
    revisions: dict[int, list[Version]] = {response.pk: [] for response in responses}
    for response_id, score, at in ResponseRevision.objects.filter(response__in=responses).values_list(
        "response_id", "score", "submitted_at"
    ):
        revisions[response_id].append(Version(score, at))
    rows = []
    for response in responses:
        versions = [*revisions[response.pk], Version(response.score, response.submitted_at)]
        burst = current_burst(versions)
        invitation = response.invitation
        emailed = max(sent for sent in (invitation.sent_at, invitation.reminded_at) if sent and sent <= burst[0].at)
        rows.append(
            PossibleScanner(
                response=response,
                scores_seen=scores_seen(versions),
                seconds_after_email=int((burst[0].at - emailed).total_seconds()),
            )
        )
    return rows


# --- Unreachable customers

# Stands for "since an unknown time" (a contact opted out before dates were kept).
LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def unreachable_customers() -> QuerySet[Customer]:
    """Active tier 1–2 customers none of whose contacts can be surveyed, at least one
    because mail to them bounced or they complained, annotated with
    `unreachable_since`: when they lost the last contact that could be. (A customer
    whose contacts all opted out of their own accord is not among them: they chose it,
    and nothing about the mail failed; nor is one without contacts, never reachable.)"""
    contacts = Contact.objects.filter(customer=OuterRef("pk"))
    last_lost = (
        contacts.annotate(since=Coalesce(unreachable_since(), Value(LONG_AGO, output_field=DateTimeField())))
        .order_by("-since")
        .values("since")[:1]
    )
    return (
        Customer.objects.filter(is_active=True, tier__in=HIGH_VALUE_TIERS)
        .filter(Exists(contacts.filter(LOST_TO_DELIVERY)))
        .exclude(Exists(contacts.filter(REACHABLE)))
        .annotate(unreachable_since=Subquery(last_lost))
    )


def awaiting_unreachable_alert() -> QuerySet[Customer]:
    """Unreachable customers nobody has been told of since they became so: no
    unreachable alert raised since, and no note saying it on one still being worked."""
    since = OuterRef("unreachable_since")
    alerts = Alert.objects.filter(customer=OuterRef("pk"), kind=AlertKind.UNREACHABLE)
    notes = AlertNote.objects.filter(
        alert__customer=OuterRef("pk"), alert__kind=AlertKind.UNREACHABLE, kind=NoteKind.UNREACHABLE
    )
    return (
        unreachable_customers()
        .exclude(Exists(alerts.filter(created_at__gte=since)))
        .exclude(Exists(notes.filter(created_at__gte=since)))
    )


def reachable_again() -> QuerySet[Alert]:
    """Unreachable alerts still being worked whose customer has a contact surveys can
    reach again, and whose history does not say so yet (its last word on it is the
    alert itself, or a note that it became unreachable again)."""
    last_told = (
        AlertNote.objects.filter(alert=OuterRef("pk"), kind__in=[NoteKind.REACHABLE, NoteKind.UNREACHABLE])
        .order_by("-created_at", "-pk")
        .values("kind")[:1]
    )
    return (
        Alert.objects.filter(kind=AlertKind.UNREACHABLE, status__in=UNRESOLVED)
        .filter(Exists(Contact.objects.filter(REACHABLE, customer=OuterRef("customer_id"))))
        .annotate(last_told=Subquery(last_told))
        .filter(Q(last_told__isnull=True) | Q(last_told=NoteKind.UNREACHABLE))
    )

"""The alerts the demo's year of answers would have raised, worked as a team works them.

`seed_alerts` runs after `demo.surveys.seed_surveys`. For every answer the product's
own rules (`rules.kinds_to_raise`, from the score, the customer's answer before it and
the tier) would have raised an alert for, it writes that alert as it stands at `now`:
ranked from the customer's tier, revenue and punctuality, assigned to the account
manager, and, depending on its age, resolved with a note saying what was done,
acknowledged, or still open; a few were acknowledged late or never, and were escalated
when their time ran out, as the sweep escalates them. Every one was emailed (and every
escalation), and none waits for the webhook, so starting the worker on the demo sends
nothing about the past. Every answer is then marked evaluated: the evaluation sweep
has nothing of the history left to raise.

Monday morning, then: a queue of recent open alerts, some overdue and escalated, on
top of a year of worked ones. An account manager with nothing open finds their latest
alert of the last weeks still waiting, so the demo logins open on a queue. Like the
other demo steps it draws everything from the random generator it is given, so one
seed gives the same alerts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery

from customers.models import Band, Customer
from insights.alerts import rules, services
from insights.models import Alert, AlertNote, AlertStatus, AtRiskClosure, NoteKind
from surveys.models import Response

from .customers import STAFF_LOGIN

BATCH_SIZE = 1000
# Share of alerts acknowledged within their window; the others late, after escalation.
ON_TIME_ACKNOWLEDGEMENT = 0.8
LATE_ACKNOWLEDGEMENT = (1.05, 2.5)  # times the window
# Recent alerts nobody has picked up yet (overdue, escalated, still open).
FORGOTTEN_CHANCE = 0.1
FORGOTTEN_WITHIN = timedelta(days=21)
# How far back an account manager with nothing open gets their latest alert kept open.
KEEP_OPEN_WITHIN = timedelta(days=60)
# Acknowledged and not resolved yet, months on: the long-running account problem.
LINGERING_CHANCE = 0.1
LINGERING_WITHIN = timedelta(days=120)
# Resolved at once, in one step, without acknowledging first.
RESOLVED_AT_ONCE_CHANCE = 0.25
# From acknowledgement to resolution: median three days, a few weeks at worst.
RESOLUTION_MEDIAN_HOURS = 72
RESOLUTION_SPREAD = 1.1
RESOLUTION_HOURS = (0.5, 40 * 24)
ACKNOWLEDGEMENT_NOTE_CHANCE = 0.5
FOLLOW_UP_NOTE_CHANCE = 0.15

ACKNOWLEDGEMENT_NOTES = (
    "Calling them this afternoon.",
    "Spoke to the site manager; visit booked for Thursday to go over the job.",
    "Left a voicemail, emailing as well.",
    "Looking into it with operations before I call.",
    "Checking the invoice against the quote first.",
    "Meeting their facilities lead tomorrow morning.",
    "Asked the crew lead what happened on the day.",
)
FOLLOW_UP_NOTES = (
    "No answer yet; trying again tomorrow.",
    "Operations confirm the van broke down; the delay was ours.",
    "They want a written apology and a credit note.",
    "Second call booked with their purchasing manager.",
)
RESOLUTION_NOTES = (
    "Apologised, redid the job free of charge. They are happy to continue.",
    "Credit note issued for the difference; invoice corrected.",
    "Met them on site; new delivery window agreed and confirmed in writing.",
    "Assigned a regular technician to their account, as they asked.",
    "Refunded the call-out fee. They accepted and thanked us.",
    "Root cause was a scheduling error; fixed and explained to them.",
    "Talked it through: a one-off. Agreed on a direct line for urgent jobs.",
    "Replaced the damaged goods the next morning.",
    "They had already moved part of the work elsewhere; kept the rest with a revised price.",
    "Could not reach them after three tries; closing, will raise it at the quarterly review.",
)


@dataclass(frozen=True)
class _Customer:
    tier: int | None
    revenue_12m: Decimal
    on_time_rate: float | None
    assignee_id: int | None
    is_active: bool


@dataclass(frozen=True)
class AlertSeedSummary:
    statuses: dict[str, int]
    overdue: int

    @property
    def alerts(self) -> int:
        return sum(self.statuses.values())

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)


def seed_alerts(*, rng: random.Random, now: datetime) -> AlertSeedSummary:
    """Raises and works the alerts of every answer in the database up to `now`, and
    marks every answer evaluated."""
    with transaction.atomic():
        customers = _load_customers()
        builder = _Builder(rng=rng, now=now, cx_lead_id=_cx_lead_id())
        for response_id, survey_id, customer_id, kind, score, previous, submitted_at in _alerts_to_raise(customers):
            builder.add(
                response_id=response_id,
                survey_id=survey_id,
                customer=customers[customer_id],
                customer_id=customer_id,
                kind=kind,
                score=score,
                previous=previous,
                submitted_at=submitted_at,
            )
        builder.keep_one_open_per_assignee()
        builder.save()
        Response.objects.filter(needs_evaluation=True).update(needs_evaluation=False)
        close_one_at_risk(now=now)
    return builder.summary()


CLOSURE_REASON = (
    "Met their operations director: the problems were with one crew, now replaced. "
    "They renewed for another year; closing until they answer again."
)


def close_one_at_risk(*, now: datetime) -> AtRiskClosure | None:
    """Staff once took the most valuable tier 1 customer with an at-risk answer in its
    past off the customers at risk, with a reason, halfway to the customer's next
    answer: its timeline tells it, and whoever is at risk today stays listed beside the
    queue. Draws nothing at random."""
    staff = get_user_model().objects.filter(username=STAFF_LOGIN[0]).first()
    if staff is None:
        return None
    for customer_id in Customer.objects.filter(tier=1, is_active=True).order_by("-revenue_12m", "pk").values_list(
        "pk", flat=True
    ):
        answers = list(
            Response.objects.filter(customer_id=customer_id, is_suspect=False, submitted_at__lte=now)
            .order_by("submitted_at", "pk")
            .values_list("pk", "band", "submitted_at")
        )
        for (answer_id, band, answered_at), (_, _, next_at) in zip(answers, answers[1:], strict=False):
            if band == Band.AT_RISK:
                return AtRiskClosure.objects.create(
                    customer_id=customer_id,
                    response_id=answer_id,
                    closed_by=staff,
                    closed_at=answered_at + (next_at - answered_at) / 2,
                    reason=CLOSURE_REASON,
                )
    return None


def _load_customers() -> dict[int, _Customer]:
    customers = Customer.objects.select_related("account_manager").only(
        "tier", "revenue_12m", "on_time_rate", "is_active", "account_manager__is_active"
    )
    return {
        customer.pk: _Customer(
            tier=customer.tier,
            revenue_12m=customer.revenue_12m,
            on_time_rate=customer.on_time_rate,
            assignee_id=assignee.pk if (assignee := rules.assignee_for(customer=customer)) else None,
            is_active=customer.is_active,
        )
        for customer in customers
    }


def _cx_lead_id() -> int | None:
    """The CX lead the demo has work the alerts of customers without an account manager."""
    return services.cx_leads().values_list("pk", flat=True).first()


def _alerts_to_raise(
    customers: dict[int, _Customer],
) -> Iterator[tuple[int, int, int, str, int, int | None, datetime]]:
    """(response id, survey id, customer id, kind, score, previous score, submitted at) for every
    alert the answers call for, by the rules evaluate_response applies one answer at a
    time: the answers awaiting evaluation (suspect ones raise nothing), each with the
    customer's score before it (services.score_before). One query, in each customer's order."""
    before = services.score_before(
        customer_id=OuterRef("customer_id"), first_submitted_at=OuterRef("first_submitted_at")
    )
    rows = (
        services.awaiting_evaluation()
        .annotate(previous_score=Subquery(before))
        .order_by("customer_id", "first_submitted_at", "pk")
        .values_list("pk", "survey_id", "customer_id", "score", "band", "previous_score", "submitted_at")
    )
    for pk, survey_id, customer_id, score, band, previous, submitted_at in rows.iterator(2000):
        for kind in rules.kinds_to_raise(
            band=band, score=score, previous_score=previous, tier=customers[customer_id].tier
        ):
            yield pk, survey_id, customer_id, kind, score, previous, submitted_at


@dataclass
class _Handling:
    acknowledged_at: datetime
    resolved_at: datetime | None
    forgotten: bool
    resolved_at_once: bool
    author_id: int | None
    acknowledgement_note: str
    lingering_note: str
    follow_up_note: str
    resolution_note: str
    escalation_delay: timedelta
    escalation_email_delay: timedelta


class _Builder:
    def __init__(self, *, rng: random.Random, now: datetime, cx_lead_id: int | None) -> None:
        self.rng, self.now, self.cx_lead_id = rng, now, cx_lead_id
        self.alerts: list[Alert] = []
        self.notes: list[AlertNote] = []
        self.handling: dict[int, _Handling] = {}  # by id() of the alert
        self.active: set[int] = set()  # id()s of alerts of active customers

    def add(
        self,
        *,
        response_id: int,
        survey_id: int,
        customer: _Customer,
        customer_id: int,
        kind: str,
        score: int,
        previous: int | None,
        submitted_at: datetime,
    ) -> None:
        rng = self.rng
        created_at = min(self.now, submitted_at + timedelta(seconds=rng.uniform(2, 30)))
        alert = rules.new_alert(
            response_id=response_id,
            survey_id=survey_id,
            customer_id=customer_id,
            kind=kind,
            tier=customer.tier,
            revenue_12m=customer.revenue_12m,
            on_time_rate=customer.on_time_rate,
            score=score,
            previous_score=previous,
            assignee_id=customer.assignee_id,
            created_at=created_at,
        )
        alert.notified_at = min(self.now, created_at + timedelta(seconds=rng.uniform(1, 20)))
        self.alerts.append(alert)
        self.handling[id(alert)] = self._plan_handling(alert)
        if customer.is_active:
            self.active.add(id(alert))

    def _plan_handling(self, alert: Alert) -> _Handling:
        """When it was (or will be) acknowledged and resolved, drawn whatever `now` is,
        so the draws do not depend on the clock."""
        rng = self.rng
        window = alert.due_at - alert.created_at
        if rng.random() < ON_TIME_ACKNOWLEDGEMENT:
            acknowledge_after = window * rng.uniform(0.03, 0.95)
        else:
            acknowledge_after = window * rng.uniform(*LATE_ACKNOWLEDGEMENT)
        forgotten = rng.random() < FORGOTTEN_CHANCE
        lingering = rng.random() < LINGERING_CHANCE and self.now - alert.created_at < LINGERING_WITHIN
        at_once = rng.random() < RESOLVED_AT_ONCE_CHANCE
        hours = rng.lognormvariate(0, RESOLUTION_SPREAD) * RESOLUTION_MEDIAN_HOURS
        resolve_after = timedelta(hours=min(RESOLUTION_HOURS[1], max(RESOLUTION_HOURS[0], hours)))
        return _Handling(
            acknowledged_at=alert.created_at + acknowledge_after,
            resolved_at=None if lingering else alert.created_at + acknowledge_after + resolve_after,
            forgotten=forgotten and self.now - alert.created_at < FORGOTTEN_WITHIN,
            resolved_at_once=at_once,
            author_id=alert.assignee_id or self.cx_lead_id,
            acknowledgement_note=_maybe(rng, ACKNOWLEDGEMENT_NOTE_CHANCE, ACKNOWLEDGEMENT_NOTES),
            lingering_note=rng.choice(ACKNOWLEDGEMENT_NOTES),
            follow_up_note=_maybe(rng, FOLLOW_UP_NOTE_CHANCE, FOLLOW_UP_NOTES),
            resolution_note=rng.choice(RESOLUTION_NOTES),
            escalation_delay=timedelta(seconds=rng.uniform(1, 60)),
            escalation_email_delay=timedelta(seconds=rng.uniform(1, 20)),
        )

    def _stays_open(self, alert: Alert) -> bool:
        handling = self.handling[id(alert)]
        return handling.forgotten or handling.acknowledged_at > self.now

    def keep_one_open_per_assignee(self) -> None:
        """An account manager with nothing open finds their latest alert of the last
        weeks (of a customer still served) waiting, so the demo logins open on a queue
        even in a small demo."""
        latest: dict[int, Alert] = {}
        for alert in self.alerts:
            recent = self.now - alert.created_at < KEEP_OPEN_WITHIN
            if alert.assignee_id is not None and id(alert) in self.active and recent:
                current = latest.get(alert.assignee_id)
                if current is None or alert.created_at > current.created_at:
                    latest[alert.assignee_id] = alert
        with_open = {alert.assignee_id for alert in self.alerts if self._stays_open(alert)}
        for assignee_id, alert in latest.items():
            if assignee_id not in with_open:
                self.handling[id(alert)].forgotten = True

    def save(self) -> None:
        for alert in self.alerts:
            self._work(alert, self.handling[id(alert)])
        Alert.objects.bulk_create(self.alerts, batch_size=BATCH_SIZE)
        AlertNote.objects.bulk_create(self.notes, batch_size=BATCH_SIZE)

    def _work(self, alert: Alert, handling: _Handling) -> None:
        """Sets the alert's state at `now` from its planned handling, with the notes
        each step leaves, as the services write them."""
        now = self.now
        acknowledged_at = None if self._stays_open(alert) else handling.acknowledged_at
        # Still open at its due time: the sweep escalated it.
        if alert.is_overdue(acknowledged_at or now):
            self._escalate(alert, handling)
        if acknowledged_at is None:
            return
        resolved_at = handling.resolved_at if handling.resolved_at and handling.resolved_at <= now else None
        if resolved_at and handling.resolved_at_once:
            # Resolved straight away: acknowledged by resolving.
            alert.status = AlertStatus.RESOLVED
            alert.acknowledged_at = alert.resolved_at = acknowledged_at
            self._note(alert, handling, NoteKind.RESOLVED, acknowledged_at, handling.resolution_note)
            return
        alert.status, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, acknowledged_at
        text = handling.acknowledgement_note if resolved_at else handling.lingering_note
        self._note(alert, handling, NoteKind.ACKNOWLEDGED, acknowledged_at, text)
        follow_up_at = acknowledged_at + ((resolved_at or now) - acknowledged_at) / 2
        if handling.follow_up_note and follow_up_at < now:
            self._note(alert, handling, NoteKind.NOTE, follow_up_at, handling.follow_up_note)
        if resolved_at:
            alert.status, alert.resolved_at = AlertStatus.RESOLVED, resolved_at
            self._note(alert, handling, NoteKind.RESOLVED, resolved_at, handling.resolution_note)

    def _escalate(self, alert: Alert, handling: _Handling) -> None:
        # By the next minute's sweep, at the latest now, as escalate_overdue does it.
        alert.escalated_at = min(self.now, alert.due_at + handling.escalation_delay)
        alert.escalation_notified_at = min(self.now, alert.escalated_at + handling.escalation_email_delay)
        self.notes.append(
            AlertNote(
                alert=alert,
                kind=NoteKind.ESCALATED,
                created_at=alert.escalated_at,
                text=rules.escalation_note(due_at=alert.due_at),
            )
        )

    def _note(self, alert: Alert, handling: _Handling, kind: str, at: datetime, text: str) -> None:
        self.notes.append(AlertNote(alert=alert, author_id=handling.author_id, kind=kind, created_at=at, text=text))

    def summary(self) -> AlertSeedSummary:
        return AlertSeedSummary(
            statuses=dict(Counter(alert.status for alert in self.alerts)),
            overdue=sum(1 for alert in self.alerts if alert.is_overdue(self.now)),
        )


def _maybe(rng: random.Random, chance: float, texts: tuple[str, ...]) -> str:
    """One of `texts` with the given chance, else nothing."""
    return rng.choice(texts) if rng.random() < chance else ""

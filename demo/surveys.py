"""Deliveries, invitations and a year of answers for the demo customers.

`seed_surveys` runs after `demo.customers.seed`, on the customers and contacts it
created, and like it draws everything from the random generator it is given: one seed,
one `today` and one `now` always give the same demo.

Every customer gets about a year of deliveries, more the larger it is. Each invitation
is planned by the product's own rule (`scheduling.plan_invitation`), so deliveries to a
contact surveyed less than 30 days before, to opted-out contacts and to customers who
left come out suppressed where the product would suppress them. Past invitations went
out and were answered, left unanswered (reminded, then expired) or, rarely, bounced;
their links are not kept. Satisfaction is drawn per customer, so some large customers
are unhappy while many small ones are delighted, and some customers drift down over
their last months. The last couple of days' invitations are left due: in `make run`
the worker's sweep sends them to the development mailbox, where a newcomer can open
one and click a score.
"""

from __future__ import annotations

import math
import random
import smtplib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import outbox
from core.models import OutgoingMessage
from customers.models import Band, Contact, Customer, Invoice
from surveys import bands, scheduling
from surveys.models import (
    DEFAULT_SURVEY_SLUG,
    SURVEYED_STATUSES,
    Delivery,
    Invitation,
    InvitationStatus,
    Response,
    ResponseRevision,
    SuppressedReason,
    Survey,
)
from surveys import services
from surveys.services import refresh_latest_answers
from surveys.suspicion import Version, looks_automated

from .customers import ACCOUNT_MANAGER_LOGINS

BATCH_SIZE = 1000
HISTORY_DAYS = 365
# Invitations of the last two days are left for the worker to send (see `add_due_now`).
RECENT_WINDOW = timedelta(days=2)
LAST_HISTORY_DAY_BACK = 3
WORKDAY_HOURS = (7.5, 18.0)
HOLIDAYS = {(1, 1), (12, 25)}  # (month, day): no work anywhere; Sundays neither

# Deliveries a year by tier: a large customer is served every week or so, a small one a few times.
DELIVERIES_PER_YEAR_BY_TIER = {1: (24, 40), 2: (12, 20), 3: (6, 12)}
SMALL_DELIVERIES_PER_YEAR = {1: 3, 2: 5, 3: 4, 4: 4, 6: 2, 8: 1, 10: 1}
AD_HOC_SHARE = 0.2
REGULARITY_JITTER = 0.15  # of the spacing between regular deliveries
# The first contact (by creation) orders most of the work.
CONTACT_WEIGHTS = (2, 1, 1, 1, 1)
# Chance that a customer who left still had a last visit recorded (a collection, a final repair).
AFTER_LEAVING_CHANCE = 0.6

DUE_NOW = (20, 40)
DUE_LATER = (3, 6)
DUE_NOW_PER_ACCOUNT_MANAGER = 3

RESPONSE_RATE = (0.38, 0.13)  # mean and spread of the per-customer rate, before clamping
BOUNCE_CHANCE = 0.002
SUSPECT_CHANCE = 0.003
# The scores a mail scanner submitted, one after another, in each account manager's possible-scanner case.
SCANNER_BURST = (7, 2, 9, 4, 3)
# Of commented answers, the share whose comment came a few minutes after the score.
COMMENT_LATER_SHARE = 0.2
CHANGED_MIND_CHANCE = 0.03
COMMENT_CHANCE = {Band.AT_RISK: 0.6, Band.SATISFIED: 0.22, Band.PROMOTER: 0.15}
SCORE_SPREAD = 1.2

T = TypeVar("T")


@dataclass(frozen=True)
class Mood:
    """How a customer feels about the service: the mean of its scores."""

    name: str
    mean_score: float


DELIGHTED = Mood("delighted", 9.7)
CONTENT = Mood("content", 8.2)
LUKEWARM = Mood("lukewarm", 6.5)
UNHAPPY = Mood("unhappy", 4.0)
# Size buys no love: large customers are lukewarm or unhappy as often as small ones, and
# delighted less often. Weighted so that about 45% of answers are promoters, 38% satisfied
# and 17% at risk.
LARGE_MOODS = {DELIGHTED: 6, CONTENT: 9, LUKEWARM: 4, UNHAPPY: 2}
SMALL_MOODS = {DELIGHTED: 10, CONTENT: 6, LUKEWARM: 4, UNHAPPY: 3}
# At least these shares of tier 1–2 customers slide or are unhappy, whatever the draw.
LARGE_SLIDING_SHARE = 0.08
LARGE_UNHAPPY_SHARE = 0.08
DRIFT_SHARE = 0.1
DRIFT_POINTS = (2.5, 4.5)
DRIFT_STARTS_DAYS_BACK = (90, 200)


@dataclass(frozen=True)
class Service:
    """What was delivered, as the survey names it in the contact's language: "How
    satisfied are you with <the boiler service on 12 March>?". {date} is the day of the
    delivery, {quantity} a number that grows with the customer."""

    en: str
    es: str

    def describe(self, language: str, *, day: date, quantity: int) -> str:
        if language == "es":
            return self.es.format(date=f"{day.day} de {MONTHS_ES[day.month - 1]}", quantity=quantity)
        return self.en.format(date=f"{day.day} {MONTHS_EN[day.month - 1]}", quantity=quantity)


MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)
SERVICES = (
    Service("the boiler service on {date}", "la revisión de la caldera del {date}"),
    Service("the delivery of {quantity} pallets on {date}", "la entrega de {quantity} palés del {date}"),
    Service("the air-conditioning maintenance on {date}", "el mantenimiento del aire acondicionado del {date}"),
    Service("the office deep clean on {date}", "la limpieza a fondo de la oficina del {date}"),
    Service("the repair visit on {date}", "la visita de reparación del {date}"),
    Service("the installation of {quantity} workstations", "la instalación de {quantity} puestos de trabajo"),
    Service("the fire-safety inspection on {date}", "la inspección contra incendios del {date}"),
    Service("the window cleaning on {date}", "la limpieza de cristales del {date}"),
    Service("the delivery of {quantity} boxes of supplies", "la entrega de {quantity} cajas de material"),
    Service("the printer repair on {date}", "la reparación de la impresora del {date}"),
    Service("the IT support visit on {date}", "la visita de soporte informático del {date}"),
    Service("the pest-control visit on {date}", "el control de plagas del {date}"),
    Service("the lift inspection on {date}", "la inspección del ascensor del {date}"),
    Service("the move of {quantity} desks on {date}", "el traslado de {quantity} mesas del {date}"),
    Service("the HVAC filter replacement on {date}", "el cambio de filtros de climatización del {date}"),
    Service("the emergency call-out on {date}", "la salida de urgencia del {date}"),
    Service("the quarterly maintenance visit on {date}", "la visita de mantenimiento trimestral del {date}"),
    Service("the delivery of {quantity} pallets of stock", "la entrega de {quantity} palés de mercancía"),
)
AFTER_LEAVING_SERVICE = Service(
    "the collection of your rented equipment on {date}", "la recogida de su equipo de alquiler del {date}"
)

COMMENTS = {
    Band.AT_RISK: {
        "en": (
            "The technician arrived three hours late and nobody called.",
            "Second time this month the order was incomplete.",
            "The invoice did not match the quote.",
            "Nobody answered the phone when we called about the delay.",
            "The job had to be redone the next day.",
            "Too expensive for what we got.",
            "Your driver blocked our loading bay for an hour.",
            "Honestly, we are looking at other suppliers.",
            "Damaged goods again. This cannot go on.",
            "We had to chase you three times for a date.",
        ),
        "es": (
            "El técnico llegó tres horas tarde y nadie avisó.",
            "El pedido llegó incompleto otra vez.",
            "La factura no coincide con el presupuesto.",
            "Nadie contestó al teléfono cuando llamamos.",
            "Estamos valorando otros proveedores.",
        ),
    },
    Band.SATISFIED: {
        "en": (
            "Fine, but it took a while to get an appointment.",
            "Good work; the paperwork was confusing.",
            "OK overall.",
            "On time, but left some mess behind.",
            "Did the job. Communication could be better.",
            "A bit pricey, otherwise fine.",
        ),
        "es": (
            "Bien, aunque tardaron en darnos cita.",
            "Correcto, pero la factura llegó tarde.",
            "Todo bien, sin más.",
        ),
    },
    Band.PROMOTER: {
        "en": (
            "Quick and friendly, thank you!",
            "Always reliable.",
            "Excellent work, very tidy.",
            "The best supplier we have.",
            "Sorted in one visit. Great team.",
        ),
        "es": (
            "¡Rápidos y muy amables, gracias!",
            "Muy profesionales, como siempre.",
            "Impecable.",
        ),
    },
}


@dataclass(frozen=True)
class DemoContact:
    pk: int
    email: str
    language: str
    opted_out_at: datetime | None


@dataclass(frozen=True)
class DemoCustomer:
    pk: int
    tier: int | None
    is_active: bool
    account_manager_id: int | None
    # The day an inactive customer was last invoiced: when it left.
    left_on: date | None
    contacts: tuple[DemoContact, ...]

    @property
    def is_large(self) -> bool:
        return self.tier in (1, 2)


@dataclass
class Outlook:
    """What drives one customer's answers."""

    mood: Mood
    response_rate: float
    services: tuple[Service, ...]
    quantity: tuple[int, int]
    drift_from: datetime | None = None
    drift_to: datetime | None = None
    drift_points: float = 0.0

    def mean_score_at(self, moment: datetime) -> float:
        if self.drift_from is None or moment <= self.drift_from:
            return self.mood.mean_score
        progress = min(1.0, (moment - self.drift_from) / (self.drift_to - self.drift_from))
        return self.mood.mean_score - self.drift_points * progress


@dataclass
class Created:
    invitations: list[Invitation] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    revisions: list[ResponseRevision] = field(default_factory=list)


@dataclass(frozen=True)
class SurveySeedSummary:
    deliveries: int
    statuses: dict[str, int]
    suppressed: dict[str, int]
    bands: dict[str, int]
    due_now: int
    due_later: int

    @property
    def answers(self) -> int:
        return sum(self.bands.values())

    @property
    def invitations_sent(self) -> int:
        went_out = (InvitationStatus.SENT, InvitationStatus.RESPONDED, InvitationStatus.EXPIRED)
        return sum(self.statuses.get(status, 0) for status in went_out)

    @property
    def response_rate(self) -> float:
        if not self.invitations_sent:
            return 0.0
        return self.statuses.get(InvitationStatus.RESPONDED, 0) / self.invitations_sent

    def band_share(self, band: str) -> float:
        return self.bands.get(band, 0) / self.answers if self.answers else 0.0


def seed_surveys(*, rng: random.Random, today: date, now: datetime | None = None) -> SurveySeedSummary:
    """Creates deliveries, invitations and answers for every customer in the database up
    to `now` (default: noon of `today`), then makes each customer's latest answer current."""
    now = now or datetime.combine(today, time(12), tzinfo=timezone.get_current_timezone())
    if timezone.localdate(now) != today:
        raise ValueError(f"now ({now.isoformat()}) is not on today ({today.isoformat()})")
    survey = ensure_default_survey()
    with transaction.atomic():
        customers = load_customers()
        builder = _Builder(survey=survey, rng=rng, today=today, now=now)
        for customer in customers:
            builder.add_history(customer)
        due_now = builder.add_due_now(customers)
        due_later = builder.add_due_later(customers)
        builder.add_possible_scanners(customers)
        builder.save()
        refresh_latest_answers()
    return summarize(builder.created, due_now=due_now, due_later=due_later)


def ensure_default_survey() -> Survey:
    """The default survey, made again as migration 0002 makes it should it be missing (a
    database flushed since it was migrated): the demo's deliveries take it, and reading
    it (Survey.default) is no place to write."""
    survey = Survey.objects.filter(is_default=True).first()
    if survey is None:
        survey, _ = Survey.objects.update_or_create(
            slug=DEFAULT_SURVEY_SLUG, defaults={"name": "Post-delivery satisfaction", "is_default": True}
        )
    return survey


def load_customers() -> list[DemoCustomer]:
    left_on = dict(
        Invoice.objects.filter(customer__is_active=False)
        .values("customer_id")
        .annotate(last=Max("issued_on"))
        .values_list("customer_id", "last")
    )
    contacts: dict[int, list[DemoContact]] = defaultdict(list)
    for customer_id, pk, email, language, opted_out, opted_out_at in Contact.objects.order_by("pk").values_list(
        "customer_id", "pk", "email", "language", "opted_out", "opted_out_at"
    ):
        # An opt-out of unknown date has always been in force.
        since = (opted_out_at or datetime.min.replace(tzinfo=timezone.get_current_timezone())) if opted_out else None
        contacts[customer_id].append(DemoContact(pk=pk, email=email, language=language, opted_out_at=since))
    return [
        DemoCustomer(
            pk=pk,
            tier=tier,
            is_active=is_active,
            account_manager_id=manager_id,
            left_on=None if is_active else left_on.get(pk),
            contacts=tuple(contacts[pk]),
        )
        for pk, tier, is_active, manager_id in Customer.objects.order_by("external_id").values_list(
            "pk", "tier", "is_active", "account_manager_id"
        )
        if contacts[pk]
    ]


class _Builder:
    """Builds the rows in memory, in time order per contact so the throttle sees each
    contact's earlier invitations, and writes them with bulk inserts."""

    def __init__(self, *, survey: Survey, rng: random.Random, today: date, now: datetime) -> None:
        self.survey, self.rng, self.today, self.now = survey, rng, today, now
        self.tz = timezone.get_current_timezone()
        self.created = Created()
        self.outlooks: dict[int, Outlook] = {}
        # Due times of each contact's invitations that count for the throttle.
        self.surveyed_at: dict[int, list[datetime]] = defaultdict(list)
        self.large_customers: list[DemoCustomer] = []

    # --- History: the past year

    def add_history(self, customer: DemoCustomer) -> None:
        outlook = self._outlook(customer)
        first_day = self.today - timedelta(days=HISTORY_DAYS)
        last_day = self.today - timedelta(days=LAST_HISTORY_DAY_BACK)
        left_on = self._left_on(customer)
        per_year = self._deliveries_per_year(customer)
        served_days = max(0, (min(last_day, left_on or last_day) - first_day).days + 1)
        count = _round_randomly(per_year * served_days / HISTORY_DAYS, self.rng)
        for delivered_at in self._delivery_moments(first_day, served_days, count=count):
            self._add_delivery(customer, self._pick_contact(customer), delivered_at, outlook.services)
        if left_on is not None and left_on < last_day - timedelta(days=1) and self.rng.random() < AFTER_LEAVING_CHANCE:
            since = max(first_day, left_on + timedelta(days=1))
            moment = self._workday_moment(since, (last_day - since).days + 1)
            self._add_delivery(customer, self._pick_contact(customer), moment, (AFTER_LEAVING_SERVICE,))

    def _left_on(self, customer: DemoCustomer) -> date | None:
        """The day an inactive customer stopped being served (None for active ones)."""
        if customer.is_active:
            return None
        return customer.left_on or self.today - timedelta(days=HISTORY_DAYS + 1)

    def _outlook(self, customer: DemoCustomer) -> Outlook:
        rng = self.rng
        mood = _weighted(LARGE_MOODS if customer.is_large else SMALL_MOODS, rng)
        rate = min(0.8, max(0.05, rng.gauss(*RESPONSE_RATE)))
        services = tuple(rng.sample(SERVICES, rng.randint(2, 4)))
        quantity = (8, 60) if customer.tier in (1, 2) else (3, 20) if customer.tier == 3 else (2, 8)
        outlook = self.outlooks[customer.pk] = Outlook(
            mood=mood, response_rate=rate, services=services, quantity=quantity
        )
        if rng.random() < DRIFT_SHARE:
            self._start_drift(outlook)
        if customer.is_large:
            self.large_customers.append(customer)
            self._ensure_some_large_are_unhappy(outlook)
        return outlook

    def _start_drift(self, outlook: Outlook, *, days_back: tuple[int, int] = DRIFT_STARTS_DAYS_BACK) -> None:
        start = self.rng.randint(*days_back)
        outlook.drift_from = self.now - timedelta(days=start)
        # Full depth halfway to now: the last weeks' answers all show it.
        outlook.drift_to = self.now - timedelta(days=start / 2)
        outlook.drift_points = self.rng.uniform(*DRIFT_POINTS)

    def _ensure_some_large_are_unhappy(self, outlook: Outlook) -> None:
        """Keeps the running shares of sliding and of unhappy tier 1–2 customers at
        LARGE_SLIDING_SHARE and LARGE_UNHAPPY_SHARE or above, so even a small demo has a
        big account sliding from content to at risk, and one unhappy all year."""
        large = [self.outlooks[customer.pk] for customer in self.large_customers]
        if sum(1 for other in large if other.drift_from is not None) < LARGE_SLIDING_SHARE * len(large):
            outlook.mood = CONTENT
            # Starting early enough that a few answers show the slide.
            self._start_drift(outlook, days_back=(150, 200))
            outlook.drift_points = DRIFT_POINTS[1]
        elif sum(1 for other in large if other.mood is UNHAPPY) < LARGE_UNHAPPY_SHARE * len(large):
            outlook.mood = UNHAPPY

    def _deliveries_per_year(self, customer: DemoCustomer) -> int:
        if customer.tier in DELIVERIES_PER_YEAR_BY_TIER:
            return self.rng.randint(*DELIVERIES_PER_YEAR_BY_TIER[customer.tier])
        return _weighted(SMALL_DELIVERIES_PER_YEAR, self.rng)

    def _delivery_moments(self, first_day: date, days: int, *, count: int) -> list[datetime]:
        """`count` moments in `days` days: most work comes round regularly (a monthly
        service, a weekly delivery), some is called in at any time."""
        if count == 0:
            return []
        spacing = days / count
        phase = self.rng.uniform(0, spacing)
        moments = []
        for number in range(count):
            if self.rng.random() < AD_HOC_SHARE:
                moments.append(self._workday_moment(first_day, days))
                continue
            offset = phase + spacing * (number + self.rng.uniform(-REGULARITY_JITTER, REGULARITY_JITTER))
            day = first_day + timedelta(days=min(days - 1, max(0, int(offset))))
            moments.append(self._working_hours_on(_open_day(day, first_day=first_day, days=days)))
        return sorted(moments)

    def _workday_moment(self, first_day: date, days: int) -> datetime:
        """A moment in working hours on a working day within `days` days from `first_day`."""
        day = first_day + timedelta(days=self.rng.randrange(days))
        return self._working_hours_on(_open_day(day, first_day=first_day, days=days))

    def _working_hours_on(self, day: date) -> datetime:
        minutes = round(self.rng.uniform(*WORKDAY_HOURS) * 60)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)

    def _pick_contact(self, customer: DemoCustomer) -> DemoContact:
        return self.rng.choices(customer.contacts, weights=CONTACT_WEIGHTS[: len(customer.contacts)])[0]

    def _plan(self, customer: DemoCustomer, contact: DemoContact, delivered_at: datetime) -> scheduling.Plan:
        """The product's own rule, applied as things stood when the delivery was recorded."""
        left_on = self._left_on(customer)
        return scheduling.plan_invitation(
            delivered_at=delivered_at,
            survey=self.survey,
            customer_is_active=left_on is None or timezone.localdate(delivered_at, self.tz) <= left_on,
            contact_unreachable_reason=(
                SuppressedReason.OPTED_OUT
                if contact.opted_out_at is not None and contact.opted_out_at <= delivered_at
                else ""
            ),
            contact_surveyed_at=self.surveyed_at[contact.pk],
        )

    def _add_delivery(
        self,
        customer: DemoCustomer,
        contact: DemoContact,
        delivered_at: datetime,
        services: tuple[Service, ...],
        *,
        plan: scheduling.Plan | None = None,
        scanner: bool = False,
    ) -> None:
        plan = plan or self._plan(customer, contact, delivered_at)
        delivery = Delivery(
            customer_id=customer.pk,
            contact_id=contact.pk,
            survey_id=self.survey.pk,
            delivered_at=delivered_at,
            description=self._description(customer, contact, delivered_at, services),
        )
        invitation = Invitation(
            delivery=delivery,
            contact_id=contact.pk,
            status=plan.status,
            suppressed_reason=plan.suppressed_reason,
            scheduled_for=plan.scheduled_for,
            expires_at=plan.expires_at,
        )
        self.created.invitations.append(invitation)
        if plan.status == InvitationStatus.SCHEDULED and scanner:
            invitation.sent_at = invitation.scheduled_for + timedelta(seconds=self.rng.uniform(5, 75))
            invitation.status = InvitationStatus.RESPONDED
            self._add_response(invitation, customer=customer, versions=self._scanner_burst(invitation))
            self.surveyed_at[contact.pk].append(plan.scheduled_for)
        elif plan.status == InvitationStatus.SCHEDULED:
            self._follow_up(invitation, plan=plan, customer=customer, contact=contact)
            if invitation.status in SURVEYED_STATUSES:
                self.surveyed_at[contact.pk].append(plan.scheduled_for)

    def _description(
        self, customer: DemoCustomer, contact: DemoContact, delivered_at: datetime, services: tuple[Service, ...]
    ) -> str:
        return self.rng.choice(services).describe(
            contact.language,
            day=timezone.localdate(delivered_at, self.tz),
            quantity=self.rng.randint(*self.outlooks[customer.pk].quantity),
        )

    def _follow_up(
        self, invitation: Invitation, *, plan: scheduling.Plan, customer: DemoCustomer, contact: DemoContact
    ) -> None:
        """What became of a scheduled invitation by `now`: still due, bounced, sent and
        waiting, answered, or expired unanswered."""
        if invitation.scheduled_for > self.now - RECENT_WINDOW:
            invitation.next_attempt_at = plan.next_attempt_at
            return
        rng = self.rng
        if rng.random() < BOUNCE_CHANCE:
            _bounce(invitation, email=contact.email)
            return
        invitation.sent_at = invitation.scheduled_for + timedelta(seconds=rng.uniform(5, 75))
        reminder_at = scheduling.reminder_due_at(
            sent_at=invitation.sent_at, reminder_delay=self.survey.reminder_delay, expires_at=invitation.expires_at
        )
        answers = rng.random() < self.outlooks[customer.pk].response_rate
        answered_at = invitation.sent_at + self._answer_delay()
        if answers and not invitation.is_expired(answered_at) and answered_at <= self.now:
            invitation.status = InvitationStatus.RESPONDED
            if reminder_at and reminder_at < answered_at:
                invitation.reminded_at = reminder_at + timedelta(seconds=rng.uniform(5, 75))
            self._answer(invitation, customer=customer, contact=contact, answered_at=answered_at)
        elif invitation.is_expired(self.now):
            invitation.status = InvitationStatus.EXPIRED
            if reminder_at:
                invitation.reminded_at = reminder_at + timedelta(seconds=rng.uniform(5, 75))
        else:
            invitation.status = InvitationStatus.SENT
            if reminder_at and reminder_at <= self.now:
                invitation.reminded_at = reminder_at + timedelta(seconds=rng.uniform(5, 75))
            else:
                # Still ahead: the worker's reminder sweep will send it.
                invitation.remind_at = reminder_at

    def _answer_delay(self) -> timedelta:
        """Most people answer within the hour or the day; some only after the reminder."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return timedelta(minutes=min(720, max(2, rng.lognormvariate(math.log(40), 1.0))))
        if roll < 0.8:
            return timedelta(hours=rng.uniform(12, 72))
        return self.survey.reminder_delay + timedelta(hours=min(240, rng.lognormvariate(math.log(5), 1.2)))

    def _answer(
        self, invitation: Invitation, *, customer: DemoCustomer, contact: DemoContact, answered_at: datetime
    ) -> None:
        """One answer as a person gives it: a score from the email, a comment with it or
        added a few minutes later on the thank-you page, now and then a changed mind.
        Every earlier version is kept as a revision, as record_response keeps it."""
        rng = self.rng
        if rng.random() < SUSPECT_CHANCE:
            self._scanner_clicks(invitation, customer=customer)
            return
        score = self._score(customer, answered_at)
        comment = self._comment(score, contact)
        versions = [(answered_at, score, comment)]
        if comment and rng.random() < COMMENT_LATER_SHARE:
            commented_at = answered_at + timedelta(minutes=rng.uniform(1.5, 10))
            versions = [(answered_at, score, ""), (commented_at, score, comment)]
        elif rng.random() < CHANGED_MIND_CHANCE:
            first_thought = self._nearby_score(score)
            first_comment = "" if rng.random() < 0.7 else self._comment(first_thought, contact)
            changed_at = answered_at + timedelta(minutes=rng.uniform(5, 2 * 24 * 60))
            versions = [(answered_at, first_thought, first_comment), (changed_at, score, comment)]
        # A change after the link closed, or still ahead, never happened.
        versions = [version for version in versions if not invitation.is_expired(version[0]) and version[0] <= self.now]
        self._add_response(invitation, customer=customer, versions=versions)

    def _scanner_clicks(self, invitation: Invitation, *, customer: DemoCustomer) -> None:
        """A mail security scanner opening the links seconds after sending and clicking
        through the first buttons, two seconds apart: kept, but marked suspect."""
        clicked_at = invitation.sent_at + timedelta(seconds=self.rng.uniform(2, 12))
        scores = list(self.survey.scores)[: self.rng.randint(1, 3)]
        versions = [(clicked_at + timedelta(seconds=2 * number), score, "") for number, score in enumerate(scores)]
        self._add_response(invitation, customer=customer, versions=versions)

    def _add_response(
        self, invitation: Invitation, *, customer: DemoCustomer, versions: list[tuple[datetime, int, str]]
    ) -> None:
        """The response as the last of `versions` (answered at, score, comment) left it;
        the earlier ones become revisions."""
        (first_at, _, _), (last_at, score, comment) = versions[0], versions[-1]
        response = Response(
            invitation=invitation,
            customer_id=customer.pk,
            survey_id=self.survey.pk,
            score=score,
            band=bands.classify(score, self.survey),
            comment=comment,
            is_suspect=looks_automated(
                versions=[Version(given, at) for at, given, _ in versions],
                emailed_at=(invitation.sent_at, invitation.reminded_at),
            ),
            first_submitted_at=first_at,
            submitted_at=last_at,
            revisions=len(versions) - 1,
        )
        self.created.responses.append(response)
        self.created.revisions.extend(
            ResponseRevision(
                response=response,
                score=earlier_score,
                band=bands.classify(earlier_score, self.survey),
                comment=earlier_comment,
                submitted_at=earlier_at,
            )
            for earlier_at, earlier_score, earlier_comment in versions[:-1]
        )

    def _score(self, customer: DemoCustomer, moment: datetime) -> int:
        mean = self.outlooks[customer.pk].mean_score_at(moment)
        return self._on_scale(round(self.rng.gauss(mean, SCORE_SPREAD)))

    def _nearby_score(self, score: int) -> int:
        """A different score close to `score`: the first thought before a changed mind."""
        while True:
            other = self._on_scale(score + self.rng.choice((-3, -2, -1, 1, 2)))
            if other != score:
                return other

    def _on_scale(self, score: int) -> int:
        return min(self.survey.scale_max, max(self.survey.scale_min, score))

    def _comment(self, score: int, contact: DemoContact) -> str:
        band = bands.classify(score, self.survey)
        if self.rng.random() >= COMMENT_CHANCE[band]:
            return ""
        texts = COMMENTS[band]
        return self.rng.choice(texts.get(contact.language, texts["en"]))

    # --- The last two days: left due for the worker

    def add_due_now(self, customers: list[DemoCustomer]) -> int:
        """Deliveries of the last two days whose invitations are due and not yet sent.
        Each account manager gets a few (one of their largest customers first, so the
        demo can show a high-value answer), the rest go to any customer."""
        count = self.rng.randint(*DUE_NOW)
        picked = 0
        taken: set[int] = set()
        for manager_id in self._account_manager_ids():
            theirs = [customer for customer in customers if customer.account_manager_id == manager_id]
            largest = [customer for customer in theirs if customer.is_large]
            picked += self._add_due(largest, count=1, taken=taken, due_now=True)
            picked += self._add_due(theirs, count=DUE_NOW_PER_ACCOUNT_MANAGER - 1, taken=taken, due_now=True)
        return picked + self._add_due(customers, count=max(0, count - picked), taken=taken, due_now=True)

    def add_possible_scanners(self, customers: list[DemoCustomer]) -> int:
        """For each account manager, one survey of the last days that a mail scanner
        answered: five different scores submitted seconds after the email left, the
        last at risk. They see it as a possible scanner, to confirm or dismiss. Drawn
        from a random stream of their own, after everything else, so that the rest of
        the demo is what it would be without them."""
        # A repeatable stream for demo data, not a secret.
        main_rng, self.rng = self.rng, random.Random(f"possible-scanners-{self.today}")  # nosec B311
        try:
            return self._add_possible_scanners(customers)
        finally:
            self.rng = main_rng

    def _add_possible_scanners(self, customers: list[DemoCustomer]) -> int:
        added = 0
        for manager_id in self._account_manager_ids():
            theirs = [
                (customer, contact)
                for customer in customers
                if customer.account_manager_id == manager_id and customer.is_active
                for contact in customer.contacts
                if contact.opted_out_at is None
            ]
            self.rng.shuffle(theirs)
            for customer, contact in theirs:
                delivered_at = self._working_hours_on(self.today - timedelta(days=self.rng.randint(3, 5)))
                plan = self._plan(customer, contact, delivered_at)
                if plan.status == InvitationStatus.SCHEDULED and plan.scheduled_for < self.now - RECENT_WINDOW:
                    offered = self.outlooks[customer.pk].services
                    self._add_delivery(customer, contact, delivered_at, offered, plan=plan, scanner=True)
                    added += 1
                    break
        return added

    def _scanner_burst(self, invitation: Invitation) -> list[tuple[datetime, int, str]]:
        clicked_at = invitation.sent_at + timedelta(seconds=self.rng.uniform(2, 6))
        return [(clicked_at + timedelta(seconds=2 * number), score, "") for number, score in enumerate(SCANNER_BURST)]

    def add_due_later(self, customers: list[DemoCustomer]) -> int:
        """Deliveries of the last hour whose invitations fall due within the hour."""
        return self._add_due(customers, count=self.rng.randint(*DUE_LATER), taken=set(), due_now=False)

    def _account_manager_ids(self) -> list[int]:
        usernames = [login[0] for login in ACCOUNT_MANAGER_LOGINS]
        ids = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
        return [ids[username] for username in usernames if username in ids]

    def _add_due(self, customers: list[DemoCustomer], *, count: int, taken: set[int], due_now: bool) -> int:
        """Adds `count` deliveries (fewer if too few contacts may be surveyed) to active
        customers' opted-in contacts that the throttle lets through."""
        if count <= 0:
            return 0
        candidates = [
            (customer, contact)
            for customer in customers
            if customer.is_active
            for contact in customer.contacts
            if contact.opted_out_at is None and contact.pk not in taken
        ]
        self.rng.shuffle(candidates)
        send_delay = self.survey.send_delay
        added = 0
        for customer, contact in candidates:
            if added == count:
                break
            if due_now:
                delivered_at = self._recent_workday_moment(latest=self.now - send_delay - timedelta(minutes=5))
            else:
                delivered_at = self.now - send_delay + timedelta(minutes=self.rng.uniform(5, 55))
            plan = self._plan(customer, contact, delivered_at)
            if plan.status != InvitationStatus.SCHEDULED:
                continue
            self._add_delivery(customer, contact, delivered_at, self.outlooks[customer.pk].services, plan=plan)
            taken.add(contact.pk)
            added += 1
        return added

    def _recent_workday_moment(self, *, latest: datetime) -> datetime:
        """A moment in working hours in the two days before `latest` (any hour if the
        draws keep missing, as they may just after midnight)."""
        earliest = self.now - RECENT_WINDOW
        for _ in range(20):
            moment = self._workday_moment(timezone.localdate(earliest, self.tz), RECENT_WINDOW.days + 1)
            if earliest <= moment <= latest:
                return moment
        return earliest + (latest - earliest) * self.rng.random()

    # --- Writing

    def save(self) -> None:
        # In date order, so ids and job numbers run with time as they would in production.
        invitations = sorted(self.created.invitations, key=lambda invitation: invitation.delivery.delivered_at)
        deliveries = [invitation.delivery for invitation in invitations]
        _number_deliveries(deliveries)
        Delivery.objects.bulk_create(deliveries, batch_size=BATCH_SIZE)
        Invitation.objects.bulk_create(invitations, batch_size=BATCH_SIZE)
        Response.objects.bulk_create(self.created.responses, batch_size=BATCH_SIZE)
        ResponseRevision.objects.bulk_create(self.created.revisions, batch_size=BATCH_SIZE)
        OutgoingMessage.objects.bulk_create(_outbox_record(invitations, since=self.now - OUTBOX_KEPT), batch_size=BATCH_SIZE)


# The demo's emails older than this are not kept in the outbox (the deliverability page
# shows 30 days; a year of rows would double seed_demo's time).
OUTBOX_KEPT = timedelta(days=35)


def _outbox_record(invitations: list[Invitation], *, since: datetime) -> list[OutgoingMessage]:
    """The emails of the demo's last weeks and its failed ones, as the outbox keeps them:
    the deliverability page counts the last 30 days, and staff can retry a failure."""
    emails = dict(Contact.objects.filter(invitations__isnull=False).values_list("pk", "email").distinct())
    rows = []
    for invitation in invitations:
        email = emails[invitation.contact_id]
        if invitation.status == InvitationStatus.FAILED:
            rows.append(_message(services.INVITATION_MESSAGE, invitation, email, status=OutgoingMessage.Status.FAILED,
                                 last_error=invitation.last_error))
            continue
        if invitation.sent_at is not None and invitation.sent_at >= since and invitation.status != InvitationStatus.SCHEDULED:
            rows.append(_message(services.INVITATION_MESSAGE, invitation, email, sent_at=invitation.sent_at))
        if invitation.reminded_at is not None and invitation.reminded_at >= since:
            rows.append(_message(services.REMINDER_MESSAGE, invitation, email, sent_at=invitation.reminded_at))
    return rows


def _message(kind: str, invitation: Invitation, email: str, *, sent_at=None, status=OutgoingMessage.Status.SENT,
             last_error: str = "") -> OutgoingMessage:
    return OutgoingMessage(
        key=f"{kind}:{invitation.pk}",
        kind=kind,
        object_id=invitation.pk,
        recipient=email,
        status=status,
        attempts=1,
        sent_at=sent_at,
        last_error=last_error,
    )


def _bounce(invitation: Invitation, *, email: str) -> None:
    """The mail server refused the address for good at the first attempt, recorded as
    sending records it."""
    refused = smtplib.SMTPRecipientsRefused({email: (550, b"5.1.1 Mailbox unavailable")})
    invitation.status = InvitationStatus.FAILED
    invitation.last_error = outbox.failure_note(error=repr(refused), attempt=1, at=invitation.scheduled_for)


def _open_day(day: date, *, first_day: date, days: int) -> date:
    """`day`, or the nearest day within the window that is not a Sunday or a holiday."""
    last_day = first_day + timedelta(days=days - 1)
    for shift in (0, 1, -1, 2, -2):
        candidate = day + timedelta(days=shift)
        is_open = candidate.weekday() != 6 and (candidate.month, candidate.day) not in HOLIDAYS
        if is_open and first_day <= candidate <= last_day:
            return candidate
    return day


def _number_deliveries(deliveries: list[Delivery]) -> None:
    """Job numbers in date order across the firm, restarting each year (JOB-2026-000123)."""
    per_year: Counter[int] = Counter()
    for delivery in deliveries:
        year = delivery.delivered_at.year
        per_year[year] += 1
        delivery.reference = f"JOB-{year}-{per_year[year]:06d}"


def summarize(created: Created, *, due_now: int, due_later: int) -> SurveySeedSummary:
    invitations = created.invitations
    return SurveySeedSummary(
        deliveries=len(invitations),
        statuses=dict(Counter(invitation.status for invitation in invitations)),
        suppressed=dict(Counter(reason for invitation in invitations if (reason := invitation.suppressed_reason))),
        bands=dict(Counter(response.band for response in created.responses)),
        due_now=due_now,
        due_later=due_later,
    )


def _round_randomly(value: float, rng: random.Random) -> int:
    """`value` rounded up or down at random, so fractions add up over many customers."""
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _weighted(weights: dict[T, int], rng: random.Random) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]

"""The insights figures: where satisfaction meets customer value. Reads for the
insights page, its exports and the summary API, all aggregated in the database with a
number of queries that does not grow with the data.

Definitions (DESIGN.md, "Rules"; README "Insights" says the same in words):
- An *answer* counts in a period when its standing version was given in it (from
  00:00 on `date_from` to 24:00 on `date_to`, in TIME_ZONE); answers marked suspect
  (a machine clicking) are left out everywhere until a stable answer replaces them.
- Tier and account manager are the customer's as they stand now.
- *Response rate*: of the invitations sent in the period, the share answered.
- *Net score*: % promoters − % at risk of the answers in the period.
- *Revenue-weighted net score*: the same over each active customer's latest answer in
  the period, each weighted by the customer's 12-month revenue.
- *Revenue at risk*: the 12-month revenue of active customers whose latest answer in
  the 180 days up to the period's end is at risk.
- The value × satisfaction map places active customers by their latest answer in the
  period; high value is tier 1–2, low satisfaction the at-risk band.
- *Silent risk* is as of today: active tier 1–2 customers with no answer in 90 days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from core.numbers import currency_code, round_half_up
from customers.models import HIGH_VALUE_TIERS, Band, Customer, Tier
from surveys.models import Invitation, InvitationStatus, Response, Survey

from ..models import (
    ANY_SURVEY,
    Alert,
    AlertStatus,
    AnswerCount,
    AnswerCountSpan,
    AnswerCountState,
    InvitationCount,
    LatestAnswer,
    LatestAnswerCount,
    LatestAnswerSpan,
    RecentAnswerCount,
    SpanAnswerCount,
    SpanInvitationCount,
)
from . import counts

DEFAULT_PERIOD_DAYS = 90
REVENUE_AT_RISK_WINDOW = timedelta(days=180)
SILENCE = timedelta(days=90)
# Periods up to this long are shown week by week, longer ones month by month.
WEEKLY_UP_TO_DAYS = 120
PARETO_BUCKETS = 100
MAP_POINTS = 250


@dataclass(frozen=True)
class InsightFilters:
    date_from: date
    date_to: date
    tier: int | None = None
    account_manager: AbstractBaseUser | None = None
    survey: Survey | None = None
    # The customers the viewer may read (customers.queries.visible_customers); None:
    # every customer, for staff. Not a filter anyone chooses, so not in the query string.
    book: QuerySet[Customer] | None = field(default=None, compare=False)

    @classmethod
    def default(cls, *, today: date, book: QuerySet[Customer] | None = None) -> InsightFilters:
        return cls(date_from=today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), date_to=today, book=book)

    @property
    def start(self) -> datetime:
        return _midnight(self.date_from)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return _midnight(self.date_to + timedelta(days=1))

    @property
    def weekly(self) -> bool:
        return (self.date_to - self.date_from).days < WEEKLY_UP_TO_DAYS

    def query_string(self, **changes: object) -> str:
        """The filters, with `changes` made, as the page's and the API's query string."""
        values = {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "tier": str(self.tier or ""),
            "account_manager": self.account_manager.get_username() if self.account_manager else "",
            "survey": self.survey.slug if self.survey else "",
        }
        values.update({key: str(value) for key, value in changes.items()})
        return urlencode({key: value for key, value in values.items() if value})

    @property
    def urlencoded(self) -> str:
        return self.query_string()


@dataclass(frozen=True)
class Preset:
    label: str
    query: str


PRESET_DAYS = {"Last 30 days": 30, "Last 90 days": 90, "Last 12 months": 365}


def period_presets(filters: InsightFilters, *, today: date) -> list[Preset]:
    """Links to common periods ending today, keeping the other filters."""
    return [
        Preset(label, filters.query_string(**{"from": today - timedelta(days=days - 1), "to": today}))
        for label, days in PRESET_DAYS.items()
    ]


def _rounded(value: Decimal, places: int) -> float:
    """A figure rounded by the app's one rule (half-up), as the float the API gives."""
    return float(round_half_up(value, places))


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Answers in the period: counts by band


@dataclass(frozen=True)
class BandMix:
    promoter: int = 0
    satisfied: int = 0
    at_risk: int = 0

    @property
    def responses(self) -> int:
        return self.promoter + self.satisfied + self.at_risk

    @property
    def net_score(self) -> float | None:
        """% promoters − % at risk, −100…100; None without answers."""
        if not self.responses:
            return None
        return _rounded(Decimal(100 * (self.promoter - self.at_risk)) / self.responses, 1)

    def share(self, band: str) -> float:
        """The band's share of the answers, 0–100."""
        return _rounded(Decimal(100 * getattr(self, band)) / self.responses, 1) if self.responses else 0.0

    def __add__(self, other: BandMix) -> BandMix:
        return BandMix(self.promoter + other.promoter, self.satisfied + other.satisfied, self.at_risk + other.at_risk)


def answers(filters: InsightFilters, *, since: datetime | None = None) -> QuerySet[Response]:
    """The answers counted in the period (from `since` if later), within the filters."""
    start = max(filters.start, since) if since else filters.start
    queryset = Response.objects.filter(submitted_at__gte=start, submitted_at__lt=filters.end, is_suspect=False)
    return within(filters, queryset, customer="customer", survey="survey")


def within(filters: InsightFilters, queryset: QuerySet, *, customer: str, survey: str | None) -> QuerySet:
    """`queryset` narrowed to the filters' tier and account manager, found on the
    customer at the path `customer` ("": the rows carry them), and to their survey at
    the path `survey` (None: the survey filter does not apply)."""
    prefix = f"{customer}__" if customer else ""
    if filters.book is not None:
        queryset = queryset.filter(**{f"{customer}__in" if customer else "pk__in": filters.book})
    if filters.tier:
        queryset = queryset.filter(**{f"{prefix}tier": filters.tier})
    if filters.account_manager:
        queryset = queryset.filter(**{f"{prefix}account_manager": filters.account_manager})
    if filters.survey and survey:
        queryset = queryset.filter(**{survey: filters.survey})
    return queryset


@dataclass(frozen=True)
class Bucket:
    """One week (starting Monday) or one calendar month of the period."""

    start: date
    mix: BandMix


@dataclass(frozen=True)
class Breakdown:
    """The answers of one tier, account manager or survey."""

    key: object  # the tier number, the manager's username, the survey's slug (None: none)
    label: str
    mix: BandMix
    revenue_at_risk: Decimal = Decimal("0")


@dataclass(frozen=True)
class CountRow:
    """Answers of one band; the dimensions the count was not broken down by are None."""

    bucket: date | None
    tier: int | None
    manager_id: int | None
    survey_id: int | None
    band: str
    answers: int


# What a count of answers is broken down by, besides the band: the summary's tiers,
# managers and surveys, or the chart's weeks or months. Counted apart, each comes to a
# few hundred rows at most however many answers there are; counted together they made a
# row per week, tier, manager, survey and band (over 4,000 for 90 days at 1,000,000
# answers against ~300 at 10,000), and reading those rows was most of what grew. The
# summary API shows the tiers alone: by tier, a few dozen rows (BY_TIER).
BREAKDOWNS = frozenset({"tier", "manager", "survey"})
BY_TIER = frozenset({"tier"})
OVER_TIME = frozenset({"bucket"})


BANDS = tuple(Band.values)
# "Not given: find out" (None is an answer: the counts cannot be read).
ASK = object()


def _mixes(rows: Iterable[CountRow], key: Callable[[CountRow], object]) -> dict[object, BandMix]:
    counts: dict[object, dict[str, int]] = {}
    for row in rows:
        bands = counts.get(key(row))
        if bands is None:
            bands = counts[key(row)] = dict.fromkeys(BANDS, 0)
        bands[row.band] += row.answers
    return {name: BandMix(**bands) for name, bands in counts.items()}


@dataclass(frozen=True)
class AnswerCounts:
    """The period's answers counted by band and the dimensions in `by` (BREAKDOWNS, BY_TIER
    or OVER_TIME) in one grouped scan; every breakdown is a sum over its few hundred rows."""

    filters: InsightFilters
    by: frozenset[str]
    rows: list[CountRow]

    @classmethod
    def of(
        cls, filters: InsightFilters, *, by: frozenset[str], state: AnswerCountState | None | object = ASK
    ) -> AnswerCounts:
        """Settled days from the counts made ahead (dashboard/counts.py), the days after
        from the counts kept on write; before the first rebuild, from the answers."""
        settled = counts_state(filters) if state is ASK else state
        rows: list = []
        if settled is None:
            rows += _grouped(answers(filters), by=by, day="submitted_at", tier="customer__tier",
                             manager="customer__account_manager", total=Count("pk"), weekly=filters.weekly)
            return cls(filters, by, [CountRow(_as_date(bucket), *rest) for bucket, *rest in rows])
        if filters.date_from < settled.settled_before:
            rows += settled_counts(filters, last_day=settled.settled_before - timedelta(days=1), by=by)
        if settled.settled_before <= filters.date_to:
            recent = recent_counts(filters, first_day=settled.settled_before, by=by)
            rows += [(bucket, tier or None, manager or None, *rest) for bucket, tier, manager, *rest in recent]
        return cls(filters, by, [CountRow(_as_date(bucket), *rest) for bucket, *rest in rows])

    def _counted_by(self, dimension: str) -> None:
        # Rows not broken down by it would all fall under None: a wrong figure, not an empty one.
        if dimension not in self.by:
            raise ValueError(f"These answers were not counted by {dimension}.")

    @cached_property
    def total(self) -> BandMix:
        return _mixes(self.rows, lambda row: None).get(None, BandMix())

    def over_time(self) -> list[Bucket]:
        """The period week by week or month by month, empty ones included, oldest first."""
        self._counted_by("bucket")
        found = _mixes(self.rows, lambda row: row.bucket)
        return [Bucket(start=start, mix=found.get(start, BandMix())) for start in _bucket_starts(self.filters)]

    def by_tier(self, *, revenue_at_risk: dict[int | None, Decimal]) -> list[Breakdown]:
        """Every tier, answered or not, then customers without a tier if any count."""
        self._counted_by("tier")
        mixes = _mixes(self.rows, lambda row: row.tier)
        tiers = [self.filters.tier] if self.filters.tier else Tier.values
        breakdowns = [
            Breakdown(key=tier, label=Tier(tier).label, mix=mixes.get(tier, BandMix()),
                      revenue_at_risk=revenue_at_risk.get(tier, Decimal("0")))
            for tier in tiers
        ]
        if None in mixes or None in revenue_at_risk:
            # Inactive customers, and new ones until the next tier recompute.
            breakdowns.append(Breakdown(key=None, label="No tier", mix=mixes.get(None, BandMix()),
                                        revenue_at_risk=revenue_at_risk.get(None, Decimal("0"))))
        return breakdowns

    def by_account_manager(self) -> list[Breakdown]:
        """Managers by name, then the customers without one. One query for the names."""
        self._counted_by("manager")
        mixes = _mixes(self.rows, lambda row: row.manager_id)
        managers = get_user_model().objects.filter(pk__in=[pk for pk in mixes if pk is not None])
        breakdowns = sorted(
            (Breakdown(key=user.get_username(), label=user.get_full_name() or user.get_username(), mix=mixes[user.pk])
             for user in managers),
            key=lambda breakdown: breakdown.label.casefold(),
        )
        if None in mixes:
            breakdowns.append(Breakdown(key=None, label="CX leads (no manager)", mix=mixes[None]))
        return breakdowns

    def by_survey(self) -> list[Breakdown]:
        """Surveys by name. One query for the names."""
        self._counted_by("survey")
        mixes = _mixes(self.rows, lambda row: row.survey_id)
        surveys = Survey.objects.filter(pk__in=list(mixes)).order_by("name")
        return [Breakdown(key=survey.slug, label=survey.name, mix=mixes[survey.pk]) for survey in surveys]


def counts_state(filters: InsightFilters) -> AnswerCountState | None:
    """The counts made ahead, if the figures may read them: built, in this time zone, and
    for staff (they are per manager, not per customer: a viewer's own book, a few
    thousand customers at most, is counted from its rows)."""
    return counts.state() if filters.book is None else None


def _grouped(rows: QuerySet, *, by: frozenset[str], day: str, tier: str, manager: str, total, weekly: bool) -> QuerySet:
    """(week or month, tier, manager, survey, band, answers) rows, grouped by the band and
    the dimensions in `by`; the others are None."""
    trunc = TruncWeek if weekly else TruncMonth
    columns = {
        "bucket": trunc(day) if "bucket" in by else Value(None, output_field=DateField()),
        "row_tier": F(tier) if "tier" in by else Value(None, output_field=IntegerField()),
        "row_manager": F(manager) if "manager" in by else Value(None, output_field=IntegerField()),
        "row_survey": F("survey") if "survey" in by else Value(None, output_field=IntegerField()),
    }
    return rows.annotate(**columns).values_list(*columns, "band").annotate(answers=total).order_by()


def settled_counts(filters: InsightFilters, *, last_day: date, by: frozenset[str]) -> QuerySet:
    """The period's settled days, up to `last_day`, in one query: whole months (for a
    monthly chart) and week parts from SpanAnswerCount, the days left at either end
    from AnswerCount, so a year reads a few thousand rows, not a few hundred a day."""
    covered = counts.cover(filters.date_from, min(filters.date_to, last_day), months=not filters.weekly)

    def grouped(rows: QuerySet, day: str) -> QuerySet:
        rows = within(filters, rows, customer="", survey="survey")
        return _grouped(rows, by=by, day=day, tier="tier", manager="account_manager", total=Sum("answers"),
                        weekly=filters.weekly)

    return grouped(SpanAnswerCount.objects.filter(span=AnswerCountSpan.MONTH, start__in=covered.months), "start").union(
        grouped(SpanAnswerCount.objects.filter(span=AnswerCountSpan.WEEK_PART, start__in=covered.week_parts), "start"),
        grouped(AnswerCount.objects.filter(day__in=covered.days), "day"),
        all=True,
    )


def recent_counts(filters: InsightFilters, *, first_day: date, by: frozenset[str]) -> QuerySet[RecentAnswerCount]:
    """The period's days from `first_day` on, from RecentAnswerCount (tier and manager 0: none)."""
    rows = RecentAnswerCount.objects.filter(day__gte=max(filters.date_from, first_day), day__lte=filters.date_to)
    if filters.tier:
        rows = rows.filter(tier_key=filters.tier)
    if filters.account_manager:
        rows = rows.filter(manager_key=filters.account_manager.pk)
    if filters.survey:
        rows = rows.filter(survey=filters.survey)
    return _grouped(rows, by=by, day="day", tier="tier_key", manager="manager_key", total=Sum("answers"),
                    weekly=filters.weekly)


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _bucket_starts(filters: InsightFilters) -> Iterable[date]:
    if filters.weekly:
        start = filters.date_from - timedelta(days=filters.date_from.weekday())
        while start <= filters.date_to:
            yield start
            start += timedelta(days=7)
    else:
        start = filters.date_from.replace(day=1)
        while start <= filters.date_to:
            yield start
            start = (start + timedelta(days=32)).replace(day=1)


# --- Invitations: the response rate


@dataclass(frozen=True)
class Reach:
    sent: int
    answered: int

    @property
    def response_rate(self) -> float | None:
        """Share 0–1 of the invitations sent in the period that were answered."""
        return _rounded(Decimal(self.answered) / self.sent, 4) if self.sent else None

    def __add__(self, other: Reach) -> Reach:
        return Reach(self.sent + other.sent, self.answered + other.answered)


def reach(filters: InsightFilters, *, state: AnswerCountState | None | object = ASK) -> Reach:
    """The days before the counts' rebuild from the invitation counts, the invitations
    sent since (a day's worth) from the invitations themselves."""
    built = counts_state(filters) if state is ASK else state
    if built is None:
        return invitations_sent(filters, since=filters.start)
    counted_before = counts.invitations_counted_before(built)
    counted = invitations_counted(filters, settled_before=built.settled_before, before=counted_before)
    since = max(filters.start, counts.midnight(counted_before))
    return counted + invitations_sent(filters, since=since) if since < filters.end else counted


def invitations_counted(filters: InsightFilters, *, settled_before: date, before: date) -> Reach:
    """The period's invitations sent before the day `before`, in one query: the settled
    days' whole months and week parts from SpanInvitationCount, the days left at their
    ends and the days after (up to `before`, open invitations among them) from
    InvitationCount, so a year reads a few rows a month, not a few dozen a day."""
    last_day = min(filters.date_to, before - timedelta(days=1))
    covered = counts.cover(filters.date_from, min(last_day, settled_before - timedelta(days=1)), months=True)
    spans = SpanInvitationCount.objects.filter(
        Q(span=AnswerCountSpan.MONTH, start__in=covered.months)
        | Q(span=AnswerCountSpan.WEEK_PART, start__in=covered.week_parts)
    )
    days = InvitationCount.objects.filter(
        Q(day__in=covered.days) | Q(day__gte=max(filters.date_from, settled_before), day__lte=last_day)
    )

    def summed(rows: QuerySet) -> QuerySet:
        rows = within(filters, rows, customer="", survey="survey")
        # Grouped by a constant, which the database leaves out: one row of sums.
        grouped = rows.annotate(whole=Value(1)).values("whole").order_by()
        return grouped.annotate(row_sent=Sum("sent"), row_answered=Sum("answered")).values_list("row_sent", "row_answered")

    rows = summed(spans).union(summed(days), all=True)
    return sum((Reach(sent or 0, answered or 0) for sent, answered in rows), Reach(0, 0))


def invitations_sent(filters: InsightFilters, *, since: datetime) -> Reach:
    """The period's invitations sent from `since` on, from the invitations themselves."""
    invitations = Invitation.objects.filter(sent_at__gte=since, sent_at__lt=filters.end)
    # The customer through the contact, not the delivery: contacts are far fewer to join.
    invitations = within(filters, invitations, customer="contact__customer", survey="delivery__survey")
    totals = invitations.aggregate(sent=Count("pk"), answered=Count("pk", filter=Q(status=InvitationStatus.RESPONDED)))
    return Reach(sent=totals["sent"], answered=totals["answered"])


# --- Customers by their latest answer


def customers_in_scope(filters: InsightFilters) -> QuerySet[Customer]:
    return within(filters, Customer.objects.filter(is_active=True), customer="", survey=None)


def _latest_answer(filters: InsightFilters, *, since: datetime, field_name: str) -> Subquery:
    """The customer's latest counted answer given from `since` to the period's end."""
    latest = Response.objects.filter(
        customer=OuterRef("pk"), submitted_at__gte=since, submitted_at__lt=filters.end, is_suspect=False
    )
    if filters.survey:
        latest = latest.filter(survey=filters.survey)
    return Subquery(latest.order_by("-submitted_at", "-pk").values(field_name)[:1])


def reads_latest_rollup(filters: InsightFilters) -> bool:
    """Whether each customer's latest answer in the period is their latest answer of
    all, which LatestAnswer holds (dashboard/rollups.py): a period reaching the present
    (no query), or one after which nobody answered (one indexed query). Otherwise the
    answers themselves are searched."""
    if filters.end > timezone.now():
        return True
    return not LatestAnswer.objects.filter(survey_key=_survey_key(filters), submitted_at__gte=filters.end).exists()


def _survey_key(filters: InsightFilters) -> int:
    return filters.survey.pk if filters.survey else ANY_SURVEY


def with_latest_answer(filters: InsightFilters) -> QuerySet[Customer]:
    """Active customers in scope with `answer_band` and `answer_score`: their latest
    answer in the period (None without one)."""
    if reads_latest_rollup(filters):
        latest = FilteredRelation(
            "latest_answers",
            condition=Q(latest_answers__survey_key=_survey_key(filters), latest_answers__submitted_at__gte=filters.start),
        )
        return customers_in_scope(filters).annotate(latest_in_period=latest).annotate(
            answer_band=F("latest_in_period__band"), answer_score=F("latest_in_period__score")
        )
    return customers_in_scope(filters).annotate(
        answer_band=_latest_answer(filters, since=filters.start, field_name="band"),
        answer_score=_latest_answer(filters, since=filters.start, field_name="score"),
    )


class Quadrant(str, Enum):
    """Where a customer sits on the value × satisfaction map."""

    PROTECT = "protect"  # high value, at risk: keep them from leaving
    MAINTAIN = "maintain"  # high value, satisfied or promoter: keep doing what works
    GROW = "grow"  # lower value, satisfied or promoter: room to sell more
    RETHINK = "rethink"  # lower value, at risk: rethink what serving them costs

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def description(self) -> str:
        return QUADRANT_DESCRIPTIONS[self]

    @classmethod
    def of(cls, *, high_value: bool, at_risk: bool) -> Quadrant:
        if high_value:
            return cls.PROTECT if at_risk else cls.MAINTAIN
        return cls.RETHINK if at_risk else cls.GROW

    def condition(self) -> Q:
        """The quadrant's customers among `with_latest_answer`."""
        value = Q(tier__in=HIGH_VALUE_TIERS)
        at_risk = Q(answer_band=Band.AT_RISK)
        answered = Q(answer_band__isnull=False)
        return {
            Quadrant.PROTECT: value & at_risk,
            Quadrant.MAINTAIN: value & answered & ~at_risk,
            Quadrant.GROW: ~value & answered & ~at_risk,
            Quadrant.RETHINK: ~value & at_risk,
        }[self]


QUADRANT_DESCRIPTIONS = {
    Quadrant.PROTECT: "High value, at risk: call them first.",
    Quadrant.MAINTAIN: "High value and satisfied: keep doing what works.",
    Quadrant.GROW: "Satisfied, smaller accounts: room to grow.",
    Quadrant.RETHINK: "Smaller accounts at risk: rethink how they are served.",
}


@dataclass(frozen=True)
class QuadrantFigure:
    quadrant: Quadrant
    customers: int = 0
    revenue: Decimal = Decimal("0")


@dataclass(frozen=True)
class LatestAnswers:
    """Active customers by their latest answer: in the period (quadrants, weighted net
    score) and in the 180 days up to its end (revenue at risk)."""

    quadrants: dict[Quadrant, QuadrantFigure]
    weighted_net_score: float | None
    customers: int  # with an answer in the period
    revenue_at_risk: dict[int | None, Decimal]  # by tier


def latest_answers(filters: InsightFilters) -> LatestAnswers:
    """One grouped query over the customers in scope: each row counts the customers of
    one tier whose latest answers fall in the same bands."""
    rows = _latest_from_rollup(filters) if reads_latest_rollup(filters) else (
        customers_in_scope(filters)
        .annotate(
            period_band=_latest_answer(filters, since=filters.start, field_name="band"),
            risk_band=_latest_answer(filters, since=filters.end - REVENUE_AT_RISK_WINDOW, field_name="band"),
        )
        .values_list("tier", "period_band", "risk_band")
        .annotate(customers=Count("pk"), revenue=Sum("revenue_12m"))
        .order_by()
    )
    quadrants = {quadrant: QuadrantFigure(quadrant) for quadrant in Quadrant}
    revenue_by_band = dict.fromkeys(Band.values, Decimal("0"))
    revenue_at_risk: dict[int | None, Decimal] = {}
    for tier, period_band, risk_band, customers, revenue in rows:
        revenue = revenue or Decimal("0")
        if risk_band == Band.AT_RISK:
            revenue_at_risk[tier] = revenue_at_risk.get(tier, Decimal("0")) + revenue
        if period_band is None:
            continue
        quadrant = Quadrant.of(high_value=tier in HIGH_VALUE_TIERS, at_risk=period_band == Band.AT_RISK)
        figure = quadrants[quadrant]
        quadrants[quadrant] = QuadrantFigure(quadrant, figure.customers + customers, figure.revenue + revenue)
        revenue_by_band[period_band] += revenue
    total = sum(revenue_by_band.values())
    weighted = (
        _rounded(100 * (revenue_by_band[Band.PROMOTER] - revenue_by_band[Band.AT_RISK]) / total, 1)
        if total else None
    )
    return LatestAnswers(
        quadrants=quadrants,
        weighted_net_score=weighted,
        customers=sum(figure.customers for figure in quadrants.values()),
        revenue_at_risk=revenue_at_risk,
    )


def _latest_from_rollup(filters: InsightFilters) -> list[tuple]:
    """What latest_answers groups, from the counts of the customers' latest answers for
    staff, from the customers' latest answers themselves for a viewer's own book."""
    return _latest_from_answers(filters) if filters.book is not None else _latest_from_counts(filters)


def _counted_since(day: date) -> Q:
    """The LatestAnswerCount rows that together count every latest answer from `day` on:
    the days left of its month, then the months after."""
    month = counts.month_start(day)
    return (Q(span=LatestAnswerSpan.DAY, start__gte=day, start__lte=counts.month_end(day))
            | Q(span=LatestAnswerSpan.MONTH, start__gt=month))


def _latest_from_counts(filters: InsightFilters) -> list[tuple]:
    """latest_answers' rows from LatestAnswerCount (dashboard/latest_counts.py): the
    customers whose latest answer falls from the period's first day on, and from the
    window's, summed by tier and band in one query over whole months and the days of
    two months; the later of the two days' customers are in both."""
    period, window = filters.date_from, timezone.localtime(filters.end - REVENUE_AT_RISK_WINDOW).date()
    in_period, in_window = _counted_since(period), _counted_since(window)
    rows = LatestAnswerCount.objects.filter(in_period | in_window, survey_key=_survey_key(filters))
    if filters.tier:
        rows = rows.filter(tier_key=filters.tier)
    if filters.account_manager:
        rows = rows.filter(manager_key=filters.account_manager.pk)
    sums = rows.values_list("tier_key", "band").annotate(
        period_customers=Sum("customers", filter=in_period), period_revenue=Sum("revenue", filter=in_period),
        window_customers=Sum("customers", filter=in_window), window_revenue=Sum("revenue", filter=in_window),
    ).order_by()
    found = []
    for tier_key, band, period_customers, period_revenue, window_customers, window_revenue in sums:
        tier, zero = tier_key or None, Decimal("0")
        period_customers, window_customers = period_customers or 0, window_customers or 0
        period_revenue, window_revenue = period_revenue or zero, window_revenue or zero
        if period <= window:  # everyone in the window is in the period
            found += [(tier, band, band, window_customers, window_revenue),
                      (tier, band, None, period_customers - window_customers, period_revenue - window_revenue)]
        else:
            found += [(tier, band, band, period_customers, period_revenue),
                      (tier, None, band, window_customers - period_customers, window_revenue - period_revenue)]
    return [row for row in found if row[3]]


def _latest_from_answers(filters: InsightFilters) -> list[tuple]:
    """What latest_answers groups, from the customers' latest answers (the period reaches
    the present): only those answered within the period or the revenue-at-risk window,
    the others count in neither. Grouped by band and two yes/no columns, which the
    database sees are few groups (a hash, not a sort of every customer)."""
    risk_start = filters.end - REVENUE_AT_RISK_WINDOW
    latest = LatestAnswer.objects.filter(
        survey_key=_survey_key(filters), submitted_at__gte=min(filters.start, risk_start), customer__is_active=True
    )
    rows = (
        within(filters, latest, customer="customer", survey=None)
        .annotate(
            in_period=ExpressionWrapper(Q(submitted_at__gte=filters.start), output_field=BooleanField()),
            in_window=ExpressionWrapper(Q(submitted_at__gte=risk_start), output_field=BooleanField()),
        )
        .values_list("customer__tier", "band", "in_period", "in_window")
        .annotate(customers=Count("pk"), revenue=Sum("customer__revenue_12m"))
        .order_by()
    )
    return [(tier, band if in_period else None, band if in_window else None, customers, revenue)
            for tier, band, in_period, in_window, customers, revenue in rows]


def quadrant_customers(filters: InsightFilters, quadrant: Quadrant) -> QuerySet[Customer]:
    """The quadrant's customers, most valuable first."""
    return (
        with_latest_answer(filters)
        .filter(quadrant.condition())
        .select_related("account_manager")
        .order_by("-revenue_12m", "name", "pk")
    )


def map_customers(filters: InsightFilters, *, limit: int = MAP_POINTS) -> list[Customer]:
    """The most valuable answered customers, for the map (the quadrant figures count all)."""
    return list(
        with_latest_answer(filters)
        .filter(answer_score__isnull=False)
        .order_by("-revenue_12m", "pk")
        .only("pk", "name", "tier", "revenue_12m", "on_time_rate")[:limit]
    )


# --- The portfolio: tiers and the Pareto curve


@dataclass(frozen=True)
class TierFigure:
    tier: int
    customers: int
    revenue: Decimal
    lowest_revenue: Decimal


def portfolio(filters: InsightFilters) -> QuerySet[Customer]:
    """Active customers within the manager filter and the viewer's book. Tiers are cut
    across the whole portfolio, so the tier filter does not apply."""
    customers = Customer.objects.filter(is_active=True)
    if filters.book is not None:
        customers = customers.filter(pk__in=filters.book)
    if filters.account_manager:
        customers = customers.filter(account_manager=filters.account_manager)
    return customers


def tier_figures(filters: InsightFilters) -> list[TierFigure]:
    """Active customers per tier with their revenue."""
    rows = (
        portfolio(filters)
        .filter(tier__isnull=False)
        .values("tier")
        .annotate(customers=Count("pk"), revenue=Sum("revenue_12m"), lowest=Min("revenue_12m"))
        .order_by("tier")
    )
    return [TierFigure(row["tier"], row["customers"], row["revenue"] or Decimal("0"), row["lowest"] or Decimal("0"))
            for row in rows]


def high_value_threshold(tiers: list[TierFigure]) -> Decimal | None:
    """The revenue of the smallest tier 1–2 customer: the map's value line."""
    lowest = [figure.lowest_revenue for figure in tiers if figure.tier in HIGH_VALUE_TIERS]
    return min(lowest) if lowest else None


@dataclass(frozen=True)
class ParetoPoint:
    customer_share: float  # 0–100, customers ranked by revenue, largest first
    revenue_share: float  # 0–100, cumulative


def pareto_curve(filters: InsightFilters, *, buckets: int = PARETO_BUCKETS) -> list[ParetoPoint]:
    """Cumulative revenue against customers ranked by revenue, in `buckets` steps,
    starting at (0, 0). The ORM cannot aggregate over a window, hence the SQL."""
    # The ORM writes the scope; only the window and its grouping are SQL.
    scope, params = (
        portfolio(filters)
        .annotate(revenue=F("revenue_12m"), ident=F("pk"))
        .values_list("revenue", "ident")
        .order_by()
        .query.sql_with_params()
    )
    # `scope` is SQL the ORM wrote, its values in `params`: nothing a user typed.
    sql = (
        f"SELECT bucket, COUNT(*), SUM(revenue) FROM ("  # nosec B608
        f" SELECT revenue, NTILE(%s) OVER (ORDER BY revenue DESC, ident) AS bucket"
        f" FROM ({scope}) scope) ranked GROUP BY bucket ORDER BY bucket"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [buckets, *params])
        rows = cursor.fetchall()
    customers = sum(count for _, count, _ in rows)
    revenue = sum(Decimal(total or 0) for _, _, total in rows)
    points, seen, earned = [ParetoPoint(0.0, 0.0)], 0, Decimal("0")
    for _, count, total in rows:
        seen += count
        earned += Decimal(total or 0)
        points.append(ParetoPoint(
            customer_share=round(100 * seen / customers, 2),
            revenue_share=round(float(100 * earned / revenue), 2) if revenue else 0.0,
        ))
    return points if customers else []


# --- Silent risk, comments, alerts


def silent_risk(filters: InsightFilters, *, now: datetime) -> QuerySet[Customer]:
    """Active tier 1–2 customers with no answer in 90 days, whether never asked or asked
    and silent (`last_asked`: when the last survey email went to them), largest first."""
    last_asked = (
        Invitation.objects.filter(delivery__customer=OuterRef("pk"), sent_at__isnull=False)
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    queryset = customers_in_scope(filters).filter(tier__in=HIGH_VALUE_TIERS).filter(
        Q(latest_answer_at__isnull=True) | Q(latest_answer_at__lt=now - SILENCE)
    )
    return (
        queryset.annotate(last_asked=Subquery(last_asked))
        .select_related("account_manager")
        .order_by("tier", "-revenue_12m", "pk")
    )


def high_value_comments(filters: InsightFilters, *, limit: int) -> QuerySet[Response]:
    """The latest comments of at-risk tier 1–2 customers in the period."""
    return (
        answers(filters)
        .filter(band=Band.AT_RISK, customer__tier__in=HIGH_VALUE_TIERS, customer__is_active=True)
        .exclude(comment="")
        .select_related("customer", "invitation__contact")
        .order_by("-submitted_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class AlertCounts:
    unresolved: int
    overdue: int


def alert_counts(filters: InsightFilters, *, now: datetime) -> AlertCounts:
    """Alerts being worked now (open or acknowledged), and those whose acknowledgement
    is overdue; tier, manager and survey filters apply, the period does not. Unreachable
    alerts count like the others, except under a survey filter: no answer, no survey."""
    alerts = Alert.objects.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED])
    alerts = within(filters, alerts, customer="customer", survey="survey")
    # Counted on columns the partial index alert_unresolved_survey_idx holds (due_at is
    # never empty), not on the ids, so that the index answers alone.
    totals = alerts.aggregate(
        unresolved=Count("*"), overdue=Count("due_at", filter=Q(status=AlertStatus.OPEN, due_at__lte=now))
    )
    return AlertCounts(**totals)


# --- The summary: the headline figures, for the page and the API


@dataclass(frozen=True)
class Summary:
    filters: InsightFilters
    counts: AnswerCounts
    reach: Reach
    latest: LatestAnswers
    alerts: AlertCounts

    @cached_property
    def mix(self) -> BandMix:
        return self.counts.total

    @cached_property
    def tiers(self) -> list[Breakdown]:
        return self.counts.by_tier(revenue_at_risk=self.latest.revenue_at_risk)

    @property
    def revenue_at_risk(self) -> Decimal:
        return sum(self.latest.revenue_at_risk.values(), Decimal("0"))

    @property
    def weighted_net_score(self) -> float | None:
        return self.latest.weighted_net_score

    @property
    def currency(self) -> str:
        """What the amounts are in: settings.CURRENCY."""
        return currency_code()


def summary(
    filters: InsightFilters, *, now: datetime, state: AnswerCountState | None | object = ASK,
    by: frozenset[str] = BY_TIER,
) -> Summary:
    """The headline figures; the answers counted by tier, and by the other BREAKDOWNS
    too when `by` asks (the page shows them; the API does not, and counting by tier
    alone reads a few dozen rows where every tier, manager and survey make hundreds)."""
    state = counts_state(filters) if state is ASK else state
    return Summary(
        filters=filters,
        counts=AnswerCounts.of(filters, by=by, state=state),
        reach=reach(filters, state=state),
        latest=latest_answers(filters),
        alerts=alert_counts(filters, now=now),
    )


# --- The page: everything the insights page shows, in a fixed number of queries


SILENT_SHOWN = 25
COMMENTS_SHOWN = 8


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    buckets: list[Bucket]
    managers: list[Breakdown]
    surveys: list[Breakdown]
    map_customers: list[Customer]
    tiers: list[TierFigure]
    pareto: list[ParetoPoint]
    silent: list[Customer]
    silent_count: int
    comments: list[Response]

    @property
    def high_value_threshold(self) -> Decimal | None:
        return high_value_threshold(self.tiers)


def dashboard(filters: InsightFilters, *, now: datetime) -> Dashboard:
    silent = silent_risk(filters, now=now)
    state = counts_state(filters)
    board_summary = summary(filters, now=now, state=state, by=BREAKDOWNS)
    return Dashboard(
        summary=board_summary,
        buckets=AnswerCounts.of(filters, by=OVER_TIME, state=state).over_time(),
        managers=board_summary.counts.by_account_manager(),
        surveys=board_summary.counts.by_survey(),
        map_customers=map_customers(filters),
        tiers=tier_figures(filters),
        pareto=pareto_curve(filters),
        silent=list(silent[:SILENT_SHOWN]),
        silent_count=silent.count(),
        comments=list(high_value_comments(filters, limit=COMMENTS_SHOWN)),
    )

"""Properties of the pure rules and the figures, for inputs nobody thought to write
down: Hypothesis searches for a counter-example to each."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from customers.models import Band, Customer
from customers.services import recompute_value_metrics
from customers.value import trailing_year_start
from insights.dashboard import figures
from insights.dashboard.exports import FORMULA_STARTS, PLAIN_NUMBER, neutralise
from insights.dashboard.figures import BandMix, InsightFilters
from surveys import bands
from surveys.models import Survey
from surveys.services import refresh_latest_answers
from surveys.windows import SendWindow, day_bounds
from tests.factories import CustomerFactory, InvoiceFactory, answer_at

BAND_ORDER = [Band.AT_RISK, Band.SATISFIED, Band.PROMOTER]


@st.composite
def scales(draw):
    """Thresholds the survey form accepts: lowest < satisfied ≤ promoter ≤ highest."""
    scale_min = draw(st.integers(0, 1))
    scale_max = draw(st.integers(scale_min + 1, 10))
    satisfied_min = draw(st.integers(scale_min + 1, scale_max))
    promoter_min = draw(st.integers(satisfied_min, scale_max))
    return SimpleNamespace(scale_min=scale_min, scale_max=scale_max, satisfied_min=satisfied_min,
                           promoter_min=promoter_min)


class TestBands:
    @given(scales())
    def test_the_bands_split_the_scale_into_three_runs_in_order(self, survey):
        labels = [bands.classify(score, survey) for score in range(survey.scale_min, survey.scale_max + 1)]
        ranks = [BAND_ORDER.index(label) for label in labels]
        assert ranks == sorted(ranks)
        assert labels[0] == Band.AT_RISK
        assert labels.count(Band.AT_RISK) == survey.satisfied_min - survey.scale_min
        assert labels.count(Band.PROMOTER) == survey.scale_max - survey.promoter_min + 1

    @given(scales(), st.integers(-1000, 1000))
    def test_a_score_outside_the_scale_is_refused(self, survey, score):
        assume(not survey.scale_min <= score <= survey.scale_max)
        with pytest.raises(ValueError, match="outside the scale"):
            bands.classify(score, survey)


mixes = st.builds(BandMix, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


class TestNetScore:
    @given(mixes)
    def test_it_lies_within_minus_100_and_100_and_is_none_without_answers(self, mix):
        if mix.responses == 0:
            assert mix.net_score is None
        else:
            assert -100 <= mix.net_score <= 100

    @given(mixes)
    def test_the_band_shares_add_up_to_100_give_or_take_rounding(self, mix):
        assume(mix.responses)
        assert abs(sum(mix.share(band) for band in Band.values) - 100) <= 0.15

    @given(mixes, st.integers(2, 50))
    def test_it_depends_on_the_proportions_not_the_number_of_answers(self, mix, factor):
        assume(mix.responses)
        bigger = BandMix(mix.promoter * factor, mix.satisfied * factor, mix.at_risk * factor)
        assert bigger.net_score == mix.net_score

    @given(mixes, mixes)
    def test_two_groups_together_score_between_their_own_scores(self, one, other):
        assume(one.responses and other.responses)
        low, high = sorted([one.net_score, other.net_score])
        assert low - 0.05 <= (one + other).net_score <= high + 0.05

    @given(mixes, st.integers(1, 1000))
    def test_more_promoters_never_lower_it(self, mix, more):
        assume(mix.responses)
        assert BandMix(mix.promoter + more, mix.satisfied, mix.at_risk).net_score >= mix.net_score


PERIOD = InsightFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
IN_PERIOD = datetime(2026, 6, 15, 12, tzinfo=UTC)
revenues = st.decimals(min_value=0, max_value=10**7, places=2)


@pytest.mark.django_db
class TestWeightedNetScore:
    def _weighted(self, customers: list[tuple[Decimal, int]]) -> float | None:
        """The revenue-weighted net score over fresh customers (revenue, latest score)."""
        ids = []
        for revenue, score in customers:
            customer = CustomerFactory(revenue_12m=revenue, tier=1)
            answer_at(customer, score, IN_PERIOD)
            ids.append(customer.pk)
        refresh_latest_answers(customer_ids=ids)
        book = Customer.objects.filter(pk__in=ids)
        return figures.latest_answers(InsightFilters(PERIOD.date_from, PERIOD.date_to, book=book)).weighted_net_score

    @settings(max_examples=10)
    @given(st.lists(st.tuples(revenues, st.integers(1, 10)), min_size=1, max_size=5))
    def test_it_lies_within_minus_100_and_100(self, customers):
        weighted = self._weighted(customers)
        if sum(revenue for revenue, _ in customers) == 0:
            assert weighted is None
        else:
            assert -100 <= weighted <= 100

    @settings(max_examples=10)
    @given(st.lists(st.integers(1, 10), min_size=1, max_size=5))
    def test_with_equal_revenues_it_is_the_plain_net_score_of_the_latest_answers(self, scores):
        survey = Survey.default()
        mix = BandMix(*(sum(survey.classify(score) == band for score in scores) for band in BAND_ORDER[::-1]))
        assert self._weighted([(Decimal("500.00"), score) for score in scores]) == mix.net_score


@pytest.mark.django_db
class TestTiers:
    AS_OF = date(2026, 6, 30)

    def _tiers(self, revenues: list[Decimal], inactive: set[int] = frozenset()) -> list[tuple[Customer, int | None]]:
        Customer.objects.all().delete()
        customers = []
        for index, revenue in enumerate(revenues):
            customer = CustomerFactory(is_active=index not in inactive)
            if revenue:
                InvoiceFactory(customer=customer, amount=revenue, issued_on=self.AS_OF - timedelta(days=10))
            customers.append(customer)
        recompute_value_metrics(as_of=self.AS_OF)
        return [(customer, customer.tier) for customer in Customer.objects.order_by("pk")]

    @settings(max_examples=15)
    @given(st.lists(st.decimals(min_value=0, max_value=10**6, places=2), min_size=1, max_size=12))
    def test_more_revenue_never_means_a_lower_tier_and_equal_revenue_the_same_tier(self, revenues):
        tiered = self._tiers(revenues)
        for (one, one_tier) in tiered:
            assert one_tier in {1, 2, 3, 4}
            for (other, other_tier) in tiered:
                if one.revenue_12m > other.revenue_12m:
                    assert one_tier <= other_tier
                if one.revenue_12m == other.revenue_12m:
                    assert one_tier == other_tier

    @settings(max_examples=15)
    @given(st.lists(st.decimals(min_value=0, max_value=10**6, places=2), min_size=1, max_size=12))
    def test_revenue_is_what_was_invoiced_the_biggest_earner_is_tier_1_and_no_revenue_tier_4(self, revenues):
        tiered = self._tiers(revenues)
        assert [customer.revenue_12m for customer, _ in tiered] == revenues
        top = max(revenues)
        for customer, tier in tiered:
            if customer.revenue_12m == 0:
                assert tier == 4
            elif customer.revenue_12m == top:
                assert tier == 1
            assert customer.net_value == customer.revenue_12m

    @settings(max_examples=10)
    @given(st.lists(st.decimals(min_value=0, max_value=10**6, places=2), min_size=2, max_size=8), st.data())
    def test_an_inactive_customer_has_no_tier_and_does_not_move_the_others(self, revenues, data):
        inactive = data.draw(st.sets(st.integers(0, len(revenues) - 1), max_size=len(revenues) - 1))
        with_them = self._tiers(revenues, inactive)
        assert all(tier is None for index, (_, tier) in enumerate(with_them) if index in inactive)
        active_only = self._tiers([revenue for index, revenue in enumerate(revenues) if index not in inactive])
        assert [tier for index, (_, tier) in enumerate(with_them) if index not in inactive] == [
            tier for _, tier in active_only
        ]


class TestTrailingYear:
    @given(st.dates(min_value=date(1901, 1, 1)))
    def test_the_window_is_a_year_long_and_ends_on_the_day(self, as_of):
        start = trailing_year_start(as_of)
        assert start < as_of
        assert 365 <= (as_of - start).days <= 366
        assert start.year == as_of.year - 1


ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Madrid", "America/New_York", "Australia/Lord_Howe",
                                      "Asia/Kathmandu", "Pacific/Chatham", "America/Santiago")]
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))
times = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))


@st.composite
def send_windows(draw):
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    start, end = draw(st.one_of(st.none(), times)), draw(st.one_of(st.none(), times))
    # The survey form refuses a window that ends before it starts (it ends the same day).
    assume(not (start and end and start >= end))
    return SendWindow(days=days, start=start, end=end)


def _inside(window: SendWindow, moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    if local.weekday() not in window.days:
        return False
    opens = datetime.combine(local.date(), window.start or time.min, tzinfo=zone)
    closes = (datetime.combine(local.date(), window.end, tzinfo=zone) if window.end
              else datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone))
    return opens <= moment < closes


class TestSendWindow:
    @given(send_windows(), moments, st.sampled_from(ZONES))
    def test_the_next_opening_is_inside_the_window_and_never_before_the_moment(self, window, moment, zone):
        opens = window.next_open(moment, zone=zone)
        assert opens >= moment
        assert opens - moment < timedelta(days=8)
        assert _inside(window, opens, zone)

    @given(send_windows(), moments, st.sampled_from(ZONES))
    def test_a_moment_inside_the_window_is_kept_and_the_answer_is_stable(self, window, moment, zone):
        opens = window.next_open(moment, zone=zone)
        assert window.next_open(opens, zone=zone) == opens
        if _inside(window, moment, zone):
            assert opens == moment

    @given(moments, st.sampled_from(ZONES))
    def test_a_day_holds_its_moment_and_lasts_23_to_25_hours(self, moment, zone):
        start, end = day_bounds(moment, zone=zone)
        assert start <= moment < end
        assert timedelta(hours=23) <= end - start <= timedelta(hours=25)
        assert start.astimezone(zone).time() == time.min or zone.key == "America/Santiago"


class TestFormulaNeutralising:
    @given(st.text())
    def test_no_exported_text_starts_a_formula_and_nothing_else_is_changed(self, text):
        written = neutralise(text)
        if PLAIN_NUMBER.fullmatch(text):
            assert written == text
        elif text.startswith(FORMULA_STARTS):
            assert written == "'" + text
        else:
            assert written == text
        assert not written.startswith(FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(written)

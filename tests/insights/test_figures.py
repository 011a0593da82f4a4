"""Every insights figure against a small data set computed by hand.

The portfolio (period 1–30 June 2026, UTC; "now" is 1 July 2026, noon):

| customer | tier | revenue | manager | answers (standing score, when) |
|---|---|---|---|---|
| Alpha | 1 | 700,000 | ana | 9 on 20 May (before the period); 3 on 10 June, commented |
| Bravo | 2 | 200,000 | ben | 10 on 5 June; 7 on 20 June; 1 on 21 June, suspect |
| Charlie | 3 | 70,000 | ana | 2 at 00:00 on 1 June (the first moment of the period) |
| Delta | 4 | 30,000 | — | 6 on the NPS survey on 15 June; 9 at 23:59 on 30 June; 1 at 00:00 on 1 July (after) |
| Echo | 1 | 500,000 | ben | never answered |
| Foxtrot | 2 | 150,000 | ben | 8 on 1 March |

Counted in the period: Alpha 3, Bravo 10 and 7, Charlie 2, Delta 6 (NPS: at risk) and 9:
6 answers, 2 promoters, 1 satisfied, 3 at risk: net score (2 − 3) / 6 = −16.7.
Latest per customer in the period: Alpha 3, Bravo 7, Charlie 2, Delta 9; weighted by
revenue: (30,000 − 770,000) / 1,000,000 = −74.0. Revenue at risk (latest in the 180 days
to 1 July): Alpha and Charlie, 770,000.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser

from customers.models import Band
from insights.dashboard import counts, figures
from insights.dashboard.figures import InsightFilters, Quadrant
from insights.dashboard.filters import InsightFilterForm
from insights.models import AlertStatus
from surveys.services import refresh_latest_answers
from tests.factories import (
    AlertFactory,
    CustomerFactory,
    SurveyFactory,
    UserFactory,
    answer_at,
    unanswered_invitation,
)

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
JUNE = InsightFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def answer(customer, score: int, when: datetime, *, suspect: bool = False, **fields):
    return answer_at(customer, score, when, is_suspect=suspect, **fields)


unanswered = unanswered_invitation


@pytest.fixture
def portfolio(settings):
    settings.TIME_ZONE = "UTC"
    ana = UserFactory(username="ana", first_name="Ana", last_name="Manager")
    ben = UserFactory(username="ben", first_name="Ben", last_name="Other")
    nps = SurveyFactory(slug="nps", name="NPS", scale_min=0, satisfied_min=7, promoter_min=9)

    def customer(name: str, tier: int, revenue: int, manager=None):
        return CustomerFactory(name=name, tier=tier, revenue_12m=Decimal(revenue), account_manager=manager,
                               on_time_rate=0.9)

    alpha = customer("Alpha", 1, 700_000, ana)
    bravo = customer("Bravo", 2, 200_000, ben)
    charlie = customer("Charlie", 3, 70_000, ana)
    delta = customer("Delta", 4, 30_000)
    echo = customer("Echo", 1, 500_000, ben)
    foxtrot = customer("Foxtrot", 2, 150_000, ben)

    answer(alpha, 9, at(5, 20))
    alpha_low = answer(alpha, 3, at(6, 10), comment="Late again.")
    bravo_high = answer(bravo, 10, at(6, 5))
    answer(bravo, 7, at(6, 20))
    answer(bravo, 1, at(6, 21), suspect=True)
    charlie_low = answer(charlie, 2, at(6, 1, 0), comment="Broken on arrival.")
    answer(delta, 6, at(6, 15), survey=nps)
    answer(delta, 9, at(6, 30, 23, 59))
    answer(delta, 1, at(7, 1, 0))
    answer(foxtrot, 8, at(3, 1))
    # Survey emails not answered: two in the period, one before it.
    unanswered(charlie, at(6, 12))
    unanswered(delta, at(6, 25))
    unanswered(alpha, at(5, 2))
    refresh_latest_answers()

    AlertFactory(customer=alpha, response=alpha_low, created_at=at(6, 10), due_at=at(6, 10, 16))
    AlertFactory(customer=charlie, response=charlie_low, status=AlertStatus.ACKNOWLEDGED, created_at=at(6, 1),
                 due_at=NOW + timedelta(days=2))
    AlertFactory(customer=bravo, response=bravo_high, status=AlertStatus.RESOLVED, created_at=at(6, 5),
                 due_at=at(6, 6))
    return {"ana": ana, "ben": ben, "nps": nps, "alpha": alpha, "bravo": bravo, "charlie": charlie,
            "delta": delta, "echo": echo, "foxtrot": foxtrot}


@pytest.fixture(params=["from the answers", "counted ahead"])
def june(request, portfolio):
    """The portfolio, its figures read from the answers alone, or with the days settled
    on 1 July (before 20 June, when the earliest still-open survey email went out) read
    from the counts made ahead (insights/dashboard/counts.py): the figures must not
    differ."""
    if request.param == "counted ahead":
        assert counts.rebuild(now=NOW).settled_before == date(2026, 6, 20)
    return portfolio


def filtered(**changes) -> InsightFilters:
    return InsightFilters(**{**JUNE.__dict__, **changes})


class TestHeadline:
    def test_it_counts_the_answers_of_the_period_by_band(self, june):
        summary = figures.summary(JUNE, now=NOW)
        assert summary.mix == figures.BandMix(promoter=2, satisfied=1, at_risk=3)
        assert summary.mix.responses == 6

    def test_net_score_is_promoters_less_at_risk_in_percent(self, june):
        assert figures.summary(JUNE, now=NOW).mix.net_score == -16.7

    def test_the_weighted_net_score_weighs_each_customers_latest_answer_by_revenue(self, june):
        assert figures.summary(JUNE, now=NOW).weighted_net_score == -74.0

    def test_response_rate_is_the_share_of_emails_sent_in_the_period_that_were_answered(self, june):
        reach = figures.summary(JUNE, now=NOW).reach
        assert (reach.sent, reach.answered) == (9, 7)
        assert reach.response_rate == 0.7778

    def test_revenue_at_risk_sums_customers_whose_latest_answer_is_at_risk(self, june):
        assert figures.summary(JUNE, now=NOW).revenue_at_risk == Decimal("770000")

    def test_alerts_count_what_is_being_worked_and_what_is_overdue(self, june):
        assert figures.summary(JUNE, now=NOW).alerts == figures.AlertCounts(unresolved=2, overdue=1)

    def test_an_empty_period_has_no_scores_rather_than_zero(self, june):
        summary = figures.summary(filtered(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31)), now=NOW)
        assert summary.mix.responses == 0
        assert summary.mix.net_score is None
        assert summary.weighted_net_score is None
        assert summary.reach.response_rate is None
        assert summary.revenue_at_risk == 0


class TestPeriodEdges:
    def test_the_first_moment_of_the_first_day_counts(self, june):
        later = figures.summary(filtered(date_from=date(2026, 6, 2)), now=NOW)
        assert later.mix.responses == 5
        assert later.mix.at_risk == 2

    def test_the_last_minute_of_the_last_day_counts_and_the_next_day_does_not(self, june):
        buckets = figures.AnswerCounts.of(filtered(date_from=date(2026, 6, 30)), by=figures.OVER_TIME).over_time()
        assert sum(bucket.mix.responses for bucket in buckets) == 1
        assert sum(bucket.mix.promoter for bucket in buckets) == 1

    def test_revenue_at_risk_looks_180_days_back_from_the_periods_end(self, june):
        # Ending on 1 July, Delta's 1 of that midnight is its latest answer: at risk too.
        summary = figures.summary(filtered(date_to=date(2026, 7, 1)), now=NOW)
        assert summary.revenue_at_risk == Decimal("800000")
        # Ending on 27 December, the window starts at 00:00 on 1 July: June has left it.
        later = filtered(date_from=date(2026, 12, 1), date_to=date(2026, 12, 27))
        assert figures.summary(later, now=NOW).revenue_at_risk == Decimal("30000")
        much_later = filtered(date_from=date(2026, 12, 1), date_to=date(2026, 12, 28))
        assert figures.summary(much_later, now=NOW).revenue_at_risk == 0

    def test_a_short_period_goes_week_by_week_with_empty_weeks_shown(self, june):
        buckets = figures.AnswerCounts.of(JUNE, by=figures.OVER_TIME).over_time()
        assert [bucket.start for bucket in buckets] == [
            date(2026, 6, 1), date(2026, 6, 8), date(2026, 6, 15), date(2026, 6, 22), date(2026, 6, 29)
        ]
        assert [bucket.mix.responses for bucket in buckets] == [2, 1, 2, 0, 1]

    def test_a_long_period_goes_month_by_month(self, june):
        spring = filtered(date_from=date(2026, 3, 1), date_to=date(2026, 7, 31))
        buckets = figures.AnswerCounts.of(spring, by=figures.OVER_TIME).over_time()
        assert [(bucket.start, bucket.mix.responses) for bucket in buckets] == [
            (date(2026, 3, 1), 1), (date(2026, 4, 1), 0), (date(2026, 5, 1), 1), (date(2026, 6, 1), 6),
            (date(2026, 7, 1), 1),
        ]

    def test_days_follow_the_configured_time_zone(self, june, settings):
        # Madrid is UTC+2 in summer: Charlie's 00:00 UTC answer was given at 02:00 on 1 June,
        # Delta's 23:59 UTC one on 1 July.
        settings.TIME_ZONE = "Europe/Madrid"
        summary = figures.summary(JUNE, now=NOW)
        assert summary.mix.responses == 5
        assert summary.mix.promoter == 1


class TestBreakdowns:
    def test_by_tier_gives_every_tier_its_answers_net_score_and_revenue_at_risk(self, june):
        tiers = {row.key: row for row in figures.summary(JUNE, now=NOW).tiers}
        assert {tier: row.mix.responses for tier, row in tiers.items()} == {1: 1, 2: 2, 3: 1, 4: 2}
        assert {tier: row.mix.net_score for tier, row in tiers.items()} == {1: -100.0, 2: 50.0, 3: -100.0, 4: 0.0}
        assert {tier: row.revenue_at_risk for tier, row in tiers.items()} == {
            1: Decimal("700000"), 2: 0, 3: Decimal("70000"), 4: 0,
        }

    def test_by_account_manager_names_the_manager_or_the_cx_leads(self, june):
        counted = figures.AnswerCounts.of(JUNE, by=figures.BREAKDOWNS)
        rows = {row.label: row.mix.responses for row in counted.by_account_manager()}
        assert rows == {"Ana Manager": 2, "Ben Other": 2, "CX leads (no manager)": 2}

    def test_by_survey(self, june):
        counted = figures.AnswerCounts.of(JUNE, by=figures.BREAKDOWNS)
        rows = {row.key: (row.mix.responses, row.mix.net_score) for row in counted.by_survey()}
        assert rows == {"post-delivery": (5, 0.0), "nps": (1, -100.0)}

    def test_counts_over_time_and_by_breakdown_add_up_to_the_same_answers(self, june):
        over_time = figures.AnswerCounts.of(JUNE, by=figures.OVER_TIME)
        broken_down = figures.AnswerCounts.of(JUNE, by=figures.BREAKDOWNS)
        assert over_time.total == broken_down.total
        assert over_time.total.responses == 6

    def test_a_count_refuses_a_breakdown_it_was_not_counted_by(self, june):
        with pytest.raises(ValueError, match="not counted by bucket"):
            figures.AnswerCounts.of(JUNE, by=figures.BREAKDOWNS).over_time()
        with pytest.raises(ValueError, match="not counted by manager"):
            figures.AnswerCounts.of(JUNE, by=figures.OVER_TIME).by_account_manager()

    def test_the_summary_counted_by_tier_alone_gives_the_pages_figures(self, june):
        """The API's summary counts by tier alone; the page's by every breakdown."""
        for filters in (JUNE, filtered(survey=june["nps"]), filtered(account_manager=june["ana"]), filtered(tier=1)):
            by_tier = figures.summary(filters, now=NOW)
            on_the_page = figures.summary(filters, now=NOW, by=figures.BREAKDOWNS)
            assert (by_tier.mix, by_tier.tiers) == (on_the_page.mix, on_the_page.tiers)
        with pytest.raises(ValueError, match="not counted by manager"):
            figures.summary(JUNE, now=NOW).counts.by_account_manager()

    def test_the_summary_tiers_add_up_to_the_headline(self, june):
        summary = figures.summary(JUNE, now=NOW)
        total = figures.BandMix()
        for tier in summary.tiers:
            total += tier.mix
        assert total == summary.mix


class TestFilters:
    def test_tier(self, june):
        summary = figures.summary(filtered(tier=1), now=NOW)
        assert summary.mix == figures.BandMix(at_risk=1)
        assert (summary.reach.sent, summary.reach.answered) == (1, 1)
        assert summary.weighted_net_score == -100.0
        assert summary.revenue_at_risk == Decimal("700000")
        assert [tier.key for tier in summary.tiers] == [1]
        assert summary.alerts == figures.AlertCounts(unresolved=1, overdue=1)

    def test_account_manager(self, june):
        summary = figures.summary(filtered(account_manager=june["ana"]), now=NOW)
        assert summary.mix == figures.BandMix(at_risk=2)
        assert (summary.reach.sent, summary.reach.answered) == (2, 1)
        assert summary.revenue_at_risk == Decimal("770000")
        assert summary.alerts == figures.AlertCounts(unresolved=2, overdue=1)

    def test_survey(self, june):
        summary = figures.summary(filtered(survey=june["nps"]), now=NOW)
        assert summary.mix == figures.BandMix(at_risk=1)
        assert (summary.reach.sent, summary.reach.answered) == (1, 1)
        # Delta's latest NPS answer (6) is at risk, though its latest answer overall is a 9.
        assert summary.weighted_net_score == -100.0
        assert summary.revenue_at_risk == Decimal("30000")
        assert summary.alerts == figures.AlertCounts(unresolved=0, overdue=0)

    def test_manager_and_tier_together(self, june):
        summary = figures.summary(filtered(account_manager=june["ana"], tier=3), now=NOW)
        assert summary.mix == figures.BandMix(at_risk=1)
        assert summary.revenue_at_risk == Decimal("70000")

    def test_tier_and_survey_with_nothing_in_common(self, june):
        summary = figures.summary(filtered(survey=june["nps"], tier=1), now=NOW)
        assert summary.mix.responses == 0
        assert summary.revenue_at_risk == 0


class TestRevisedAnswers:
    """Figures are read from the answers as they stand: a revision moves every one."""

    @pytest.fixture
    def recorded(self, june):
        from surveys.services import record_response
        from tests.factories import sent_invitation

        invitation = sent_invitation(delivery__customer=june["bravo"], sent_at=at(6, 25))
        first = record_response(invitation=invitation, score=2, now=at(6, 26))
        return invitation, first, record_response

    def test_an_answer_recorded_through_the_survey_counts(self, recorded):
        summary = figures.summary(JUNE, now=NOW)
        assert summary.mix == figures.BandMix(promoter=2, satisfied=1, at_risk=4)
        assert summary.revenue_at_risk == Decimal("970000")
        assert [c.name for c in figures.quadrant_customers(JUNE, Quadrant.PROTECT)] == ["Alpha", "Bravo"]

    def test_a_revised_answer_replaces_the_first_in_every_figure(self, recorded):
        invitation, _, record_response = recorded
        record_response(invitation=invitation, score=10, now=at(6, 27))
        summary = figures.summary(JUNE, now=NOW)
        assert summary.mix == figures.BandMix(promoter=3, satisfied=1, at_risk=3)
        assert summary.revenue_at_risk == Decimal("770000")
        assert [c.name for c in figures.quadrant_customers(JUNE, Quadrant.MAINTAIN)] == ["Bravo"]
        assert figures.summary(JUNE, now=NOW).weighted_net_score == round(100 * (230_000 - 770_000) / 1_000_000, 1)

    def test_a_suspect_answer_counts_only_once_confirmed(self, recorded):
        invitation, _, record_response = recorded
        # Three different scores within seconds look like a machine clicking every button.
        record_response(invitation=invitation, score=5, now=at(6, 26) + timedelta(seconds=10))
        suspect = record_response(invitation=invitation, score=9, now=at(6, 26) + timedelta(seconds=20))
        assert suspect.is_suspect
        assert figures.summary(JUNE, now=NOW).mix.responses == 6
        record_response(invitation=invitation, score=9, now=at(6, 28))
        assert figures.summary(JUNE, now=NOW).mix == figures.BandMix(promoter=3, satisfied=1, at_risk=3)


class TestValueMap:
    def test_each_answered_customer_is_in_one_quadrant(self, portfolio):
        latest = figures.latest_answers(JUNE)
        assert {quadrant: figure.customers for quadrant, figure in latest.quadrants.items()} == {
            Quadrant.PROTECT: 1, Quadrant.MAINTAIN: 1, Quadrant.GROW: 1, Quadrant.RETHINK: 1,
        }
        assert latest.quadrants[Quadrant.PROTECT].revenue == Decimal("700000")
        assert latest.customers == 4

    @pytest.mark.parametrize(
        "quadrant, names",
        [(Quadrant.PROTECT, ["Alpha"]), (Quadrant.MAINTAIN, ["Bravo"]), (Quadrant.GROW, ["Delta"]),
         (Quadrant.RETHINK, ["Charlie"])],
    )
    def test_the_customers_of_each_quadrant_are_listed_on_demand(self, portfolio, quadrant, names):
        assert [customer.name for customer in figures.quadrant_customers(JUNE, quadrant)] == names

    def test_a_new_customer_without_a_tier_yet_counts_as_smaller(self, portfolio):
        newcomer = CustomerFactory(name="Newcomer", tier=None, revenue_12m=Decimal(0))
        answer(newcomer, 2, at(6, 12))
        assert figures.latest_answers(JUNE).quadrants[Quadrant.RETHINK].customers == 2
        assert [c.name for c in figures.quadrant_customers(JUNE, Quadrant.RETHINK)] == ["Charlie", "Newcomer"]

    def test_a_customer_moves_quadrant_when_the_answer_is_revised(self, portfolio):
        latest = portfolio["alpha"].responses.get(score=3)
        latest.score, latest.band = 9, Band.PROMOTER
        latest.save()
        assert [c.name for c in figures.quadrant_customers(JUNE, Quadrant.MAINTAIN)] == ["Alpha", "Bravo"]
        assert figures.summary(JUNE, now=NOW).revenue_at_risk == Decimal("70000")

    def test_the_map_places_the_largest_answered_customers_by_revenue_and_latest_score(self, portfolio):
        points = figures.map_customers(JUNE)
        assert [(c.name, c.answer_score, c.answer_band) for c in points] == [
            ("Alpha", 3, "at_risk"), ("Bravo", 7, "satisfied"), ("Charlie", 2, "at_risk"), ("Delta", 9, "promoter"),
        ]
        assert [c.name for c in figures.map_customers(JUNE, limit=2)] == ["Alpha", "Bravo"]


class TestPortfolio:
    def test_tier_figures_give_each_tiers_customers_and_revenue(self, portfolio):
        tiers = figures.tier_figures(JUNE)
        assert [(t.tier, t.customers, t.revenue) for t in tiers] == [
            (1, 2, Decimal("1200000")), (2, 2, Decimal("350000")), (3, 1, Decimal("70000")), (4, 1, Decimal("30000")),
        ]
        assert figures.high_value_threshold(tiers) == Decimal("150000")

    def test_the_pareto_curve_accumulates_revenue_from_the_largest_customer(self, portfolio):
        curve = figures.pareto_curve(JUNE, buckets=6)
        total = 1_650_000
        expected = [0.0]
        for revenue in [700_000, 500_000, 200_000, 150_000, 70_000, 30_000]:
            expected.append(expected[-1] + revenue)
        assert [point.revenue_share for point in curve] == [round(100 * value / total, 2) for value in expected]
        assert [point.customer_share for point in curve] == [0.0, 16.67, 33.33, 50.0, 66.67, 83.33, 100.0]

    def test_the_pareto_curve_follows_the_account_manager_filter(self, portfolio):
        curve = figures.pareto_curve(filtered(account_manager=portfolio["ana"]), buckets=2)
        assert [point.revenue_share for point in curve] == [0.0, 90.91, 100.0]


class TestSilentRisk:
    def test_big_customers_never_asked_or_silent_for_ninety_days_are_listed(self, portfolio):
        assert [c.name for c in figures.silent_risk(JUNE, now=NOW)] == ["Echo", "Foxtrot"]

    def test_it_says_when_they_were_last_asked(self, portfolio):
        unanswered(portfolio["echo"], at(6, 3))
        rows = {c.name: c.last_asked for c in figures.silent_risk(JUNE, now=NOW)}
        assert rows == {"Echo": at(6, 3), "Foxtrot": at(3, 1) - timedelta(hours=1)}

    def test_an_answer_exactly_ninety_days_ago_is_not_silence(self, portfolio):
        answer(portfolio["foxtrot"], 8, NOW - timedelta(days=90))
        refresh_latest_answers()
        assert [c.name for c in figures.silent_risk(JUNE, now=NOW)] == ["Echo"]

    def test_smaller_and_inactive_customers_are_not_listed(self, portfolio):
        CustomerFactory(name="Golf", tier=3, revenue_12m=Decimal(60_000))
        CustomerFactory(name="Hotel", tier=None, is_active=False, revenue_12m=Decimal(900_000))
        assert [c.name for c in figures.silent_risk(JUNE, now=NOW)] == ["Echo", "Foxtrot"]

    def test_the_manager_filter_applies(self, portfolio):
        assert list(figures.silent_risk(filtered(account_manager=portfolio["ana"]), now=NOW)) == []


class TestComments:
    def test_the_latest_comments_of_at_risk_high_value_customers(self, portfolio):
        comments = figures.high_value_comments(JUNE, limit=10)
        assert [(r.customer.name, r.comment) for r in comments] == [("Alpha", "Late again.")]


class TestFilterForm:
    TODAY = date(2026, 7, 1)

    def form(self, **data) -> InsightFilterForm:
        return InsightFilterForm(data, today=self.TODAY, user=AnonymousUser())

    def test_empty_means_the_last_ninety_days(self):
        filters = self.form().filters()
        assert (filters.date_from, filters.date_to) == (date(2026, 4, 3), self.TODAY)

    def test_it_reads_every_filter(self, portfolio):
        filters = self.form(**{"from": "2026-06-01", "to": "2026-06-30", "tier": "2", "account_manager": "ana",
                               "survey": "nps"}).filters()
        assert filters == InsightFilters(date(2026, 6, 1), date(2026, 6, 30), 2, portfolio["ana"], portfolio["nps"])

    @pytest.mark.parametrize(
        "data, field, message",
        [
            ({"from": "June"}, "from", "Enter a date as YYYY-MM-DD."),
            ({"from": "2026-07-02", "to": "2026-07-01"}, "to", "The period ends before it starts"),
            ({"from": "2020-01-01", "to": "2026-07-01"}, "from", "at most three years"),
            ({"tier": "5"}, "tier", "Choose a tier from 1 to 4."),
            ({"account_manager": "nobody"}, "account_manager", "No account manager has that username."),
            ({"survey": "nope"}, "survey", "No survey has that slug."),
        ],
    )
    def test_bad_values_are_named(self, data, field, message):
        form = self.form(**data)
        assert not form.is_valid()
        assert message in form.errors[field][0]
        assert form.filters() == InsightFilters.default(today=self.TODAY)


class TestRounding:
    def test_net_score_and_shares_round_half_up_like_every_figure(self):
        mix = figures.BandMix(promoter=1, satisfied=399)  # net score 0.25 exactly
        assert mix.net_score == 0.3  # Python's round() would give 0.2
        assert mix.share("promoter") == 0.3

    def test_the_response_rate_rounds_half_up_to_4_decimals(self):
        assert figures.Reach(sent=80_000, answered=1).response_rate == 0.0  # 0.0000125
        assert figures.Reach(sent=20_000, answered=1).response_rate == 0.0001  # 0.00005 → 0.0001

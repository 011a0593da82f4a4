"""GET /api/v1/insights/summary/ against a small data set computed by hand.

June 2026, UTC:

| customer | tier | revenue | manager | answers (score, when) | alert |
|---|---|---|---|---|---|
| Alpha | 1 | 600,000 | carla | 9 on 20 May (before June); 3 on 10 June | open, due 11 June (overdue) |
| Bravo | 2 | 250,000 | dan | 9 on 5 June; 7 on 20 June | resolved |
| Charlie | 3 | 100,000 | carla | 10 on 12 June; 9 on 26 June | — |
| Delta | 4 | 50,000 | — | 6 on the NPS survey (0–6 at risk) on 15 June | acknowledged |
| Echo | 1 | 400,000 | dan | a survey email on 3 June, never answered | — |

Each answer's survey email went out an hour before it. In June: 6 answers, 3 promoters,
1 satisfied, 2 at risk: net score (3 − 2) / 6 = 16.7. 7 emails sent, 6 answered: 0.8571.
Latest answer per customer: Alpha at risk, Bravo satisfied, Charlie promoter, Delta at
risk; weighted by revenue (100,000 − 650,000) / 1,000,000 = −55.0. Revenue at risk:
Alpha and Delta, 650,000.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from insights.models import AlertStatus
from tests.factories import (
    AlertFactory,
    ApiUserFactory,
    CustomerFactory,
    SurveyFactory,
    UserFactory,
    answer_at,
    unanswered_invitation,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/insights/summary/"
JUNE = {"from": "2026-06-01", "to": "2026-06-30"}
UTC = ZoneInfo("UTC")


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


answer = answer_at
unanswered = unanswered_invitation


def quadrants(**counts: tuple[int, str]) -> dict:
    """The four quadrants, empty unless given as (customers, revenue)."""
    figures = {"protect": (0, "0.00"), "maintain": (0, "0.00"), "grow": (0, "0.00"), "rethink": (0, "0.00"), **counts}
    return {name: {"customers": customers, "revenue": revenue} for name, (customers, revenue) in figures.items()}


def tier_row(tier: int | None, responses: int = 0, net_score: float | None = None, at_risk: str = "0.00") -> dict:
    return {"tier": tier, "responses": responses, "net_score": net_score, "revenue_at_risk": at_risk}


@pytest.fixture
def portfolio(settings) -> dict:
    settings.TIME_ZONE = "UTC"
    carla = UserFactory(username="carla")
    dan = UserFactory(username="dan")
    nps = SurveyFactory(slug="nps", name="NPS", scale_min=0, satisfied_min=7, promoter_min=9)

    def customer(name: str, tier: int, revenue: int, manager=None):
        return CustomerFactory(name=name, tier=tier, revenue_12m=Decimal(revenue), account_manager=manager)

    alpha = customer("Alpha", 1, 600_000, carla)
    bravo = customer("Bravo", 2, 250_000, dan)
    charlie = customer("Charlie", 3, 100_000, carla)
    delta = customer("Delta", 4, 50_000)
    echo = customer("Echo", 1, 400_000, dan)

    answer(alpha, 9, at(5, 20))
    alpha_low = answer(alpha, 3, at(6, 10))
    bravo_high = answer(bravo, 9, at(6, 5))
    answer(bravo, 7, at(6, 20))
    answer(charlie, 10, at(6, 12))
    answer(charlie, 9, at(6, 26))
    delta_low = answer(delta, 6, at(6, 15), survey=nps)
    unanswered(echo, at(6, 3))

    AlertFactory(customer=alpha, response=alpha_low, created_at=at(6, 10), due_at=at(6, 11))
    AlertFactory(customer=delta, response=delta_low, status=AlertStatus.ACKNOWLEDGED, created_at=at(6, 15),
                 due_at=at(6, 17))
    AlertFactory(customer=bravo, response=bravo_high, status=AlertStatus.RESOLVED, created_at=at(6, 5),
                 due_at=at(6, 6))
    return {"carla": carla, "dan": dan, "nps": nps, "alpha": alpha, "bravo": bravo, "charlie": charlie,
            "delta": delta, "echo": echo}


def summary(api: APIClient, **params: str) -> dict:
    response = api.get(URL, {**JUNE, **params})
    assert response.status_code == 200, response.content
    return response.json()


class TestFigures:
    def test_it_answers_the_hand_computed_figures(self, api, portfolio):
        assert summary(api) == {
            "from": "2026-06-01",
            "to": "2026-06-30",
            "responses": 6,
            "invitations_sent": 7,
            "answered": 6,
            "response_rate": 0.8571,
            "net_score": 16.7,
            "weighted_net_score": -55.0,
            "bands": {"promoter": 3, "satisfied": 1, "at_risk": 2},
            "revenue_at_risk": "650000.00",
            "currency": "EUR",
            "open_alerts": 2,
            "overdue_alerts": 1,
            "by_tier": [
                tier_row(1, 1, -100.0, "600000.00"),
                tier_row(2, 2, 50.0),
                tier_row(3, 2, 100.0),
                tier_row(4, 1, -100.0, "50000.00"),
            ],
            "quadrants": quadrants(
                protect=(1, "600000.00"), maintain=(1, "250000.00"), grow=(1, "100000.00"), rethink=(1, "50000.00")
            ),
        }

    def test_an_empty_period_has_null_scores_rather_than_zero(self, api, portfolio):
        figures = summary(api, **{"from": "2025-01-01", "to": "2025-01-31"})
        assert (figures["responses"], figures["invitations_sent"]) == (0, 0)
        assert figures["response_rate"] is None
        assert figures["net_score"] is None
        assert figures["weighted_net_score"] is None
        assert figures["revenue_at_risk"] == "0.00"
        assert figures["by_tier"] == [tier_row(1), tier_row(2), tier_row(3), tier_row(4)]
        assert figures["quadrants"] == quadrants()

    def test_customers_without_a_tier_who_answered_get_a_row_with_a_null_tier(self, api, portfolio):
        gone = CustomerFactory(name="Gone", tier=None, is_active=False, revenue_12m=Decimal(80_000))
        answer(gone, 2, at(6, 8))
        figures = summary(api)
        assert figures["by_tier"][-1] == tier_row(None, 1, -100.0)
        assert figures["responses"] == 7
        # Inactive customers are not at risk revenue, nor on the map.
        assert figures["revenue_at_risk"] == "650000.00"
        assert figures["weighted_net_score"] == -55.0


class TestMoney:
    def test_money_is_a_decimal_string_with_cents(self, api, portfolio, settings):
        portfolio["alpha"].revenue_12m = Decimal("600000.5")
        portfolio["alpha"].save()
        figures = summary(api)
        assert figures["revenue_at_risk"] == "650000.50"
        assert figures["by_tier"][0]["revenue_at_risk"] == "600000.50"
        assert figures["quadrants"]["protect"]["revenue"] == "600000.50"

    def test_a_total_larger_than_any_one_customers_revenue_still_serializes(self, api, settings):
        settings.TIME_ZONE = "UTC"
        for name in ("Huge", "Vast"):
            # 12 digits before the point: the most a customer's revenue holds.
            customer = CustomerFactory(name=name, tier=1, revenue_12m=Decimal("900000000000.00"))
            answer(customer, 2, at(6, 10))
        assert summary(api)["revenue_at_risk"] == "1800000000000.00"


class TestFilters:
    def test_tier(self, api, portfolio):
        figures = summary(api, tier="1")
        assert (figures["responses"], figures["invitations_sent"], figures["answered"]) == (1, 2, 1)
        assert (figures["response_rate"], figures["net_score"], figures["weighted_net_score"]) == (0.5, -100.0, -100.0)
        assert figures["revenue_at_risk"] == "600000.00"
        assert (figures["open_alerts"], figures["overdue_alerts"]) == (1, 1)
        assert figures["by_tier"] == [tier_row(1, 1, -100.0, "600000.00")]
        assert figures["quadrants"] == quadrants(protect=(1, "600000.00"))

    def test_account_manager(self, api, portfolio):
        figures = summary(api, account_manager="carla")
        assert figures["bands"] == {"promoter": 2, "satisfied": 0, "at_risk": 1}
        assert (figures["net_score"], figures["weighted_net_score"]) == (33.3, -71.4)
        assert (figures["invitations_sent"], figures["answered"], figures["response_rate"]) == (3, 3, 1.0)
        assert figures["revenue_at_risk"] == "600000.00"
        assert (figures["open_alerts"], figures["overdue_alerts"]) == (1, 1)
        assert figures["by_tier"] == [
            tier_row(1, 1, -100.0, "600000.00"), tier_row(2), tier_row(3, 2, 100.0), tier_row(4),
        ]

    def test_survey(self, api, portfolio):
        figures = summary(api, survey="nps")
        assert figures["bands"] == {"promoter": 0, "satisfied": 0, "at_risk": 1}
        assert (figures["invitations_sent"], figures["answered"]) == (1, 1)
        assert (figures["net_score"], figures["weighted_net_score"]) == (-100.0, -100.0)
        assert figures["revenue_at_risk"] == "50000.00"
        assert (figures["open_alerts"], figures["overdue_alerts"]) == (1, 0)
        assert figures["quadrants"] == quadrants(rethink=(1, "50000.00"))

    def test_a_later_start_leaves_out_the_earlier_answers(self, api, portfolio):
        figures = summary(api, **{"from": "2026-06-11"})
        assert figures["from"] == "2026-06-11"
        assert figures["bands"] == {"promoter": 2, "satisfied": 1, "at_risk": 1}
        assert (figures["net_score"], figures["weighted_net_score"]) == (25.0, 12.5)
        assert (figures["invitations_sent"], figures["answered"]) == (4, 4)
        # Revenue at risk looks 180 days back from the period's end, whatever its start.
        assert figures["revenue_at_risk"] == "650000.00"

    def test_an_earlier_end_leaves_out_the_later_answers(self, api, portfolio):
        figures = summary(api, to="2026-06-14")
        assert figures["to"] == "2026-06-14"
        assert figures["bands"] == {"promoter": 2, "satisfied": 0, "at_risk": 1}
        assert figures["net_score"] == 33.3
        assert figures["revenue_at_risk"] == "600000.00"

    def test_account_manager_and_tier_together(self, api, portfolio):
        figures = summary(api, account_manager="dan", tier="2")
        assert figures == {
            **JUNE,
            "responses": 2,
            "invitations_sent": 2,
            "answered": 2,
            "response_rate": 1.0,
            "net_score": 50.0,
            "weighted_net_score": 0.0,
            "bands": {"promoter": 1, "satisfied": 1, "at_risk": 0},
            "revenue_at_risk": "0.00",
            "currency": "EUR",
            "open_alerts": 0,
            "overdue_alerts": 0,
            "by_tier": [tier_row(2, 2, 50.0)],
            "quadrants": quadrants(maintain=(1, "250000.00")),
        }


class TestDefaultPeriod:
    def test_without_filters_it_is_the_last_ninety_days_ending_today(self, api, portfolio, monkeypatch):
        answer(portfolio["echo"], 9, at(4, 2, 23, 59))
        answer(portfolio["echo"], 9, at(4, 3, 0))
        monkeypatch.setattr(timezone, "now", lambda: at(7, 1))
        response = api.get(URL)
        assert response.status_code == 200, response.content
        figures = response.json()
        assert (figures["from"], figures["to"]) == ("2026-04-03", "2026-07-01")
        # June's six, Alpha's 20 May and Echo's first moment of 3 April; not 2 April.
        assert figures["responses"] == 8

    def test_today_follows_the_configured_time_zone(self, api, settings, monkeypatch):
        settings.TIME_ZONE = "Pacific/Auckland"
        monkeypatch.setattr(timezone, "now", lambda: at(6, 30, 13))  # 1 July, 01:00 in Auckland
        figures = api.get(URL).json()
        assert (figures["from"], figures["to"]) == ("2026-04-03", "2026-07-01")

    def test_an_end_alone_starts_the_period_89_days_before_it(self, api, portfolio):
        figures = api.get(URL, {"to": "2026-06-30"}).json()
        assert (figures["from"], figures["to"]) == ("2026-04-02", "2026-06-30")


class TestInvalidFilters:
    @pytest.mark.parametrize(
        "params, errors",
        [
            ({"from": "June"}, {"from": ["Enter a date as YYYY-MM-DD."]}),
            ({"to": "2026-02-30"}, {"to": ["Enter a date as YYYY-MM-DD."]}),
            (
                {"from": "2026-07-02", "to": "2026-07-01"},
                {"to": ["The period ends before it starts: choose a date on or after “from”."]},
            ),
            ({"from": "2020-01-01", "to": "2026-07-01"}, {"from": ["Choose a period of at most three years."]}),
            ({"tier": "5"}, {"tier": ["Choose a tier from 1 to 4."]}),
            ({"tier": "one"}, {"tier": ["Choose a tier from 1 to 4."]}),
            ({"account_manager": "nobody"}, {"account_manager": ["No account manager has that username."]}),
            ({"survey": "nope"}, {"survey": ["No survey has that slug."]}),
        ],
        ids=["from-not-a-date", "to-not-a-day", "to-before-from", "too-long", "tier-5", "tier-not-a-number",
             "unknown-account-manager", "unknown-survey"],
    )
    def test_it_is_400_naming_the_field(self, api, portfolio, params, errors):
        response = api.get(URL, params)
        assert response.status_code == 400
        assert response.json() == errors

    def test_a_user_who_manages_no_customer_is_not_an_account_manager(self, api, portfolio):
        UserFactory(username="idle")
        response = api.get(URL, {"account_manager": "idle"})
        assert response.status_code == 400
        assert response.json() == {"account_manager": ["No account manager has that username."]}

    def test_each_invalid_field_is_named(self, api, portfolio):
        response = api.get(URL, {"from": "June", "tier": "9", "survey": "nope"})
        assert response.status_code == 400
        assert set(response.json()) == {"from", "tier", "survey"}


class TestAccess:
    def test_an_account_manager_sees_the_figures_of_their_own_book(self, api, client_for, portfolio):
        figures = summary(client_for(portfolio["carla"]))
        assert figures == summary(api, account_manager="carla")
        assert figures["bands"] == {"promoter": 2, "satisfied": 0, "at_risk": 1}

    def test_an_alert_handed_over_brings_its_customer_into_the_book(self, api, client_for, portfolio):
        AlertFactory(customer=portfolio["bravo"], assignee=portfolio["carla"], status=AlertStatus.RESOLVED)
        figures = summary(client_for(portfolio["carla"]))
        assert figures["responses"] == summary(api, account_manager="carla")["responses"] + 2

    def test_a_user_who_manages_nothing_sees_empty_figures(self, manager_api, portfolio):
        figures = summary(manager_api)
        assert (figures["responses"], figures["invitations_sent"], figures["revenue_at_risk"]) == (0, 0, "0.00")

    def test_without_a_token_it_is_401_with_a_token_challenge(self, portfolio):
        response = APIClient().get(URL, JUNE)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Token"

    def test_it_only_answers_get(self, api):
        assert api.post(URL, {}, format="json").status_code == 405


class TestQueries:
    def add_customers(self, count: int, *, manager, survey) -> None:
        for n in range(count):
            customer = CustomerFactory(tier=n % 4 + 1, revenue_12m=Decimal(1000 * (n + 1)),
                                       account_manager=manager if n % 2 else ApiUserFactory())
            low = answer(customer, 2 + n % 8, at(6, 1 + n % 28), survey=survey if n % 3 else None)
            answer(customer, 9, at(5, 1 + n % 28))
            unanswered(customer, at(6, 1 + n % 28))
            AlertFactory(customer=customer, response=low, created_at=at(6, 1), due_at=at(6, 2))

    @pytest.mark.parametrize("customers", [4, 40])
    def test_the_summary_takes_the_same_queries_however_much_data(
        self, api, portfolio, customers, django_assert_num_queries
    ):
        self.add_customers(customers, manager=portfolio["carla"], survey=portfolio["nps"])
        # Token lookup, the token owner's other tokens; the answer counts' state, answers by
        # week, tier, manager and survey in one, response rate, whether anybody answered
        # after the period (June is past: if not, the latest answers kept ahead are June's),
        # customers by latest answer (weighted net score, quadrants, revenue at risk), alerts.
        with django_assert_num_queries(8):
            summary(api)

    @pytest.mark.parametrize("customers", [4, 40])
    def test_with_every_filter_only_the_manager_and_survey_lookups_are_added(
        self, api, portfolio, customers, django_assert_num_queries
    ):
        self.add_customers(customers, manager=portfolio["carla"], survey=portfolio["nps"])
        with django_assert_num_queries(10):
            summary(api, tier="2", account_manager="carla", survey="nps")

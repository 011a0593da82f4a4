from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from customers.models import Band, Customer
from insights.alerts import rules
from insights.models import Alert, AlertKind


class TestKindsToRaise:
    @pytest.mark.parametrize("tier", [1, 2, 3, 4, None])
    @pytest.mark.parametrize(
        "band, score, raised",
        [(Band.AT_RISK, 1, ["at_risk"]), (Band.AT_RISK, 5, ["at_risk"]), (Band.SATISFIED, 6, []), (Band.PROMOTER, 10, [])],
    )
    def test_every_at_risk_answer_raises_one_at_risk_alert_whatever_the_tier(self, tier, band, score, raised):
        assert rules.kinds_to_raise(band=band, score=score, previous_score=None, tier=tier) == raised

    @pytest.mark.parametrize("tier", [1, 2])
    def test_a_high_value_customer_dropping_three_points_raises_a_decline(self, tier):
        assert rules.kinds_to_raise(band=Band.SATISFIED, score=7, previous_score=10, tier=tier) == ["decline"]

    def test_a_drop_of_two_points_is_no_decline(self):
        assert rules.kinds_to_raise(band=Band.SATISFIED, score=7, previous_score=9, tier=1) == []

    @pytest.mark.parametrize("tier", [3, 4, None])
    def test_smaller_customers_get_no_decline_alert(self, tier):
        assert rules.kinds_to_raise(band=Band.SATISFIED, score=6, previous_score=10, tier=tier) == []

    def test_an_at_risk_drop_raises_the_at_risk_alert_only(self):
        assert rules.kinds_to_raise(band=Band.AT_RISK, score=3, previous_score=9, tier=1) == ["at_risk"]

    def test_a_first_answer_has_nothing_to_decline_from(self):
        assert rules.kinds_to_raise(band=Band.SATISFIED, score=6, previous_score=None, tier=1) == []


class TestPriority:
    @pytest.mark.parametrize("tier, priority", [(1, 1), (2, 2), (3, 3), (4, 4), (None, 4)])
    def test_priority_follows_the_tier(self, tier, priority):
        assert rules.priority_for(tier=tier, kind=AlertKind.AT_RISK) == priority

    @pytest.mark.parametrize("tier, priority", [(1, 2), (2, 3)])
    def test_a_decline_ranks_one_lower_than_its_tier(self, tier, priority):
        assert rules.priority_for(tier=tier, kind=AlertKind.DECLINE) == priority

    @pytest.mark.parametrize(
        "tier, window",
        [(1, timedelta(hours=4)), (2, timedelta(hours=24)), (3, timedelta(hours=72)), (4, timedelta(days=7)), (None, timedelta(days=7))],
    )
    def test_acknowledgement_windows_by_tier(self, tier, window):
        assert rules.acknowledgement_window(tier) == window


class TestAssignee:
    def test_the_account_manager_works_the_customers_alerts(self):
        manager = get_user_model()(username="ana", is_active=True)
        assert rules.assignee_for(customer=Customer(account_manager=manager)) is manager

    def test_an_inactive_account_manager_leaves_them_to_the_cx_leads(self):
        manager = get_user_model()(username="ana", is_active=False)
        assert rules.assignee_for(customer=Customer(account_manager=manager)) is None

    def test_a_customer_without_an_account_manager_is_the_cx_leads(self):
        assert rules.assignee_for(customer=Customer()) is None


class TestEscalationNote:
    def test_it_names_the_missed_due_time_in_local_time(self, settings):
        settings.TIME_ZONE = "Europe/Madrid"
        note = rules.escalation_note(due_at=datetime(2026, 6, 15, 10, 30, tzinfo=UTC))
        assert note == "Not acknowledged by 2026-06-15 12:30: escalated to the CX leads."


class TestRankReason:
    def test_it_explains_tier_revenue_score_change_and_punctuality(self):
        reason = rules.rank_reason(
            Alert(
                kind=AlertKind.AT_RISK,
                priority=1,
                tier=1,
                revenue_12m=Decimal("1250000.00"),
                score=3,
                previous_score=9,
                on_time_rate=0.62,
            )
        )
        assert reason == (
            "Critical priority: tier 1; €1,250,000 revenue in 12 months; scored 3, down from 9; "
            "pays 62% of invoices on time."
        )

    def test_a_decline_says_so(self):
        reason = rules.rank_reason(
            Alert(
                kind=AlertKind.DECLINE, priority=2, tier=1, revenue_12m=Decimal("10"), score=6, previous_score=10,
                on_time_rate=None,
            )
        )
        assert "fell sharply" in reason and "no payment record yet" in reason

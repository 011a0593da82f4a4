from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers.models import Band
from surveys import scheduling
from surveys.bands import classify
from surveys.models import Survey
from surveys.texts import fill_in

DELIVERED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def default_survey() -> Survey:
    return Survey()  # the field defaults are the default survey's settings


def nps_survey() -> Survey:
    return Survey(scale_min=0, satisfied_min=7, promoter_min=9)


class TestClassify:
    @pytest.mark.parametrize(
        "score, band",
        [(10, Band.PROMOTER), (9, Band.PROMOTER), (8, Band.SATISFIED), (6, Band.SATISFIED), (5, Band.AT_RISK), (1, Band.AT_RISK)],
    )
    def test_the_default_scale_cuts_at_nine_and_six(self, score, band):
        assert classify(score, default_survey()) == band

    @pytest.mark.parametrize("score, band", [(9, Band.PROMOTER), (7, Band.SATISFIED), (6, Band.AT_RISK), (0, Band.AT_RISK)])
    def test_an_nps_survey_uses_the_classic_cut(self, score, band):
        assert classify(score, nps_survey()) == band

    @pytest.mark.parametrize("score", [0, 11, -1])
    def test_it_rejects_a_score_outside_the_scale(self, score):
        with pytest.raises(ValueError, match="outside the scale"):
            classify(score, default_survey())


class TestPlanInvitation:
    def plan(self, *, surveyed_at=(), opted_out=False, active=True, survey=None, unreachable=""):
        return scheduling.plan_invitation(
            delivered_at=DELIVERED,
            survey=survey or default_survey(),
            customer_is_active=active,
            contact_unreachable_reason="opted_out" if opted_out else unreachable,
            contact_surveyed_at=list(surveyed_at),
        )

    def test_it_is_due_one_hour_after_delivery_and_closes_fourteen_days_later(self):
        plan = self.plan()
        assert plan.status == "scheduled"
        assert plan.scheduled_for == DELIVERED + timedelta(hours=1)
        assert plan.expires_at == DELIVERED + timedelta(hours=1, days=14)
        assert plan.suppressed_reason == ""

    def test_sending_is_first_tried_at_the_due_time(self):
        plan = self.plan()
        assert plan.next_attempt_at == plan.scheduled_for

    def test_a_suppressed_invitation_is_never_tried(self):
        assert self.plan(opted_out=True).next_attempt_at is None

    def test_an_opted_out_contact_is_suppressed(self):
        assert self.plan(opted_out=True).suppressed_reason == "opted_out"

    @pytest.mark.parametrize("reason", ["complained", "bounced"])
    def test_a_contact_who_complained_or_bounced_is_suppressed_saying_so(self, reason):
        plan = self.plan(unreachable=reason)
        assert (plan.status, plan.suppressed_reason) == ("suppressed", reason)

    def test_an_inactive_customer_is_suppressed(self):
        plan = self.plan(active=False)
        assert (plan.status, plan.suppressed_reason) == ("suppressed", "inactive_customer")

    def test_a_contact_surveyed_ten_days_before_is_throttled(self):
        due = DELIVERED + timedelta(hours=1)
        assert self.plan(surveyed_at=[due - timedelta(days=10)]).suppressed_reason == "throttled"

    def test_a_contact_due_for_a_survey_soon_after_is_throttled_too(self):
        due = DELIVERED + timedelta(hours=1)
        assert self.plan(surveyed_at=[due + timedelta(days=3)]).suppressed_reason == "throttled"

    def test_exactly_one_throttle_window_apart_is_allowed(self):
        due = DELIVERED + timedelta(hours=1)
        assert self.plan(surveyed_at=[due - timedelta(days=30)]).status == "scheduled"

    def test_one_second_inside_the_window_is_throttled(self):
        due = DELIVERED + timedelta(hours=1)
        assert self.plan(surveyed_at=[due - timedelta(days=30) + timedelta(seconds=1)]).status == "suppressed"

    def test_opting_out_wins_over_the_other_reasons(self):
        plan = self.plan(opted_out=True, active=False, surveyed_at=[DELIVERED])
        assert plan.suppressed_reason == "opted_out"

    def test_the_survey_decides_the_delays(self):
        survey = Survey(send_delay=timedelta(0), expiry=timedelta(days=2), throttle=timedelta(days=1))
        plan = self.plan(survey=survey, surveyed_at=[DELIVERED - timedelta(days=1)])
        assert (plan.status, plan.scheduled_for, plan.expires_at) == (
            "scheduled",
            DELIVERED,
            DELIVERED + timedelta(days=2),
        )


class TestReminders:
    def test_no_reminder_is_planned_after_the_link_closes(self):
        sent = DELIVERED
        assert scheduling.reminder_due_at(
            sent_at=sent, reminder_delay=timedelta(days=3), expires_at=sent + timedelta(days=14)
        ) == sent + timedelta(days=3)
        assert scheduling.reminder_due_at(
            sent_at=sent, reminder_delay=timedelta(days=3), expires_at=sent + timedelta(days=2)
        ) is None


class TestTexts:
    def test_placeholders_are_filled_in(self):
        text = fill_in("Hi {contact_name}, how was {delivery} for {customer}?", contact_name="Jo", customer="Acme", delivery="the install", company="Acme Boilers")
        assert text == "Hi Jo, how was the install for Acme?"

    @pytest.mark.parametrize("text", ["{customer.__class__}", "{unknown}", "{customer!r}", "{0}"])
    def test_anything_but_plain_placeholders_is_refused(self, text):
        with pytest.raises(KeyError):
            fill_in(text, contact_name="", customer="", delivery="", company="")

    def test_a_survey_with_an_unknown_placeholder_does_not_validate(self):
        from django.core.exceptions import ValidationError

        survey = Survey(slug="s", name="S", question="How was {order}?")
        with pytest.raises(ValidationError) as error:
            survey.clean()
        assert "question" in error.value.message_dict

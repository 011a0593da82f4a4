"""Answers become alerts: the rules applied to real rows, exactly once."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from customers.models import Customer
from insights.alerts import services
from insights.models import Alert, AlertStatus, NoteKind
from surveys import services as survey_services
from surveys.models import Response
from tests.factories import CustomerFactory, ResponseFactory, UserFactory, sent_invitation
from tests.support.concurrency import run_at_once
from tests.support.processes import PROJECT_DIR, child_environment

TOKENS = iter(f"evaluation-token-{n:04d}-abcdefghijkl" for n in range(10_000))


def customer(*, tier: int | None = 3, manager=None, revenue: str = "50000.00") -> Customer:
    return CustomerFactory(tier=tier, revenue_12m=Decimal(revenue), on_time_rate=0.8, account_manager=manager)


def answer(customer: Customer, score: int, *, hours_ago: float = 1, comment: str = "") -> Response:
    """An answer given like a person would (long after the email left)."""
    invitation = sent_invitation(
        token=next(TOKENS),
        sent_at=timezone.now() - timedelta(days=2),
        delivery__customer=customer,
        delivery__contact__customer=customer,
    )
    return survey_services.record_response(
        invitation=invitation, score=score, comment=comment, now=timezone.now() - timedelta(hours=hours_ago)
    )


def revise(response: Response, score: int) -> Response:
    """The answer changed, long enough ago for its quiet period to have passed."""
    return survey_services.record_response(
        invitation=response.invitation, score=score, comment=response.comment, now=timezone.now() - timedelta(minutes=2)
    )


def evaluate(response: Response) -> list[Alert]:
    return services.evaluate_response(response_id=response.pk)


@pytest.mark.django_db
class TestRaising:
    @pytest.mark.parametrize("tier, priority", [(1, 1), (2, 2), (3, 3), (4, 4), (None, 4)])
    def test_score_below_six_raises_one_alert_ranked_by_tier(self, tier, priority):
        (alert,) = evaluate(answer(customer(tier=tier), 5))
        assert (alert.kind, alert.priority, alert.status) == ("at_risk", priority, AlertStatus.OPEN)
        assert alert.high_value is (tier in (1, 2))
        assert Alert.objects.count() == 1

    def test_the_alert_carries_its_answers_survey(self):
        """What the insights' survey filter counts alerts by, without reading the answer."""
        given = answer(customer(tier=1), 2)
        (alert,) = evaluate(given)
        assert alert.survey_id == given.survey_id
        assert Alert.objects.get().survey_id == given.survey_id

    @pytest.mark.parametrize("score", [6, 7, 8, 9, 10])
    @pytest.mark.parametrize("tier", [1, 2, 3, 4])
    def test_six_or_more_raises_nothing_on_a_first_answer(self, tier, score):
        assert evaluate(answer(customer(tier=tier), score)) == []

    def test_the_alert_keeps_the_customer_as_it_stood(self):
        manager = UserFactory()
        (alert,) = evaluate(answer(customer(tier=1, manager=manager, revenue="1200000.00"), 2, comment="Late again"))
        assert (alert.assignee, alert.tier, alert.revenue_12m, alert.on_time_rate) == (
            manager,
            1,
            Decimal("1200000.00"),
            0.8,
        )
        assert alert.score == 2 and alert.response.comment == "Late again"

    @pytest.mark.parametrize("tier, hours", [(1, 4), (2, 24), (3, 72), (4, 168)])
    def test_acknowledgement_is_due_within_the_tiers_window(self, tier, hours):
        (alert,) = evaluate(answer(customer(tier=tier), 1))
        assert alert.due_at - alert.created_at == timedelta(hours=hours)

    def test_without_an_account_manager_the_cx_leads_get_it(self):
        (alert,) = evaluate(answer(customer(manager=None), 3))
        assert alert.assignee is None

    def test_an_inactive_account_manager_falls_back_to_the_cx_leads(self):
        (alert,) = evaluate(answer(customer(manager=UserFactory(is_active=False)), 3))
        assert alert.assignee is None


@pytest.mark.django_db
class TestDecline:
    def test_a_tier_one_customer_falling_three_points_gets_a_decline_alert(self):
        big = customer(tier=1)
        evaluate(answer(big, 10, hours_ago=48))
        (alert,) = evaluate(answer(big, 7))
        assert (alert.kind, alert.priority, alert.previous_score, alert.score) == ("decline", 2, 10, 7)

    def test_a_fall_of_two_points_raises_nothing(self):
        big = customer(tier=2)
        evaluate(answer(big, 9, hours_ago=48))
        assert evaluate(answer(big, 7)) == []

    def test_a_tier_three_customer_falling_gets_no_decline_alert(self):
        mid = customer(tier=3)
        evaluate(answer(mid, 10, hours_ago=48))
        assert evaluate(answer(mid, 6)) == []


@pytest.mark.django_db
class TestPreviousScore:
    def given(self, customer: Customer, score: int, *, first: datetime, last: datetime | None = None) -> Response:
        return ResponseFactory(customer=customer, score=score, first_submitted_at=first, submitted_at=last or first)

    def test_it_is_the_answer_first_given_latest_before_this_one_as_it_stands_now(self):
        someone, start = customer(), timezone.now() - timedelta(days=30)
        first = self.given(someone, 9, first=start)
        # Changed to 4 after the third answer came in: first given before it all the same.
        second = self.given(someone, 4, first=start + timedelta(days=1), last=start + timedelta(days=5))
        third = self.given(someone, 7, first=start + timedelta(days=2))
        self.given(customer(), 1, first=start + timedelta(days=1, hours=1))  # someone else's

        assert services.previous_score(response=first) is None
        assert services.previous_score(response=second) == 9
        assert services.previous_score(response=third) == 4

    def test_asked_of_every_answer_at_once_it_agrees_with_one_at_a_time(self):
        someone, start = customer(), timezone.now() - timedelta(days=30)
        for day, score in [(0, 8), (1, 3), (1, 6), (2, 10), (4, 2)]:  # two given at one moment
            self.given(someone, score, first=start + timedelta(days=day))
        before = services.score_before(
            customer_id=OuterRef("customer_id"), first_submitted_at=OuterRef("first_submitted_at")
        )

        at_once = Response.objects.annotate(previous=Subquery(before)).order_by("pk")

        assert [(response.pk, response.previous) for response in at_once] == [
            (response.pk, services.previous_score(response=response)) for response in at_once
        ]
        assert [response.previous for response in at_once] == [None, 8, 8, 6, 10]


@pytest.mark.django_db
class TestOnce:
    def test_evaluating_twice_raises_one_alert(self):
        response = answer(customer(), 2)
        evaluate(response)
        assert evaluate(response) == []
        assert services.evaluate_pending() == 0
        assert Alert.objects.count() == 1

    def test_the_sweep_evaluates_what_the_task_missed(self):
        answer(customer(), 4)
        answer(customer(), 9)
        assert services.evaluate_pending() == 1
        assert not Response.objects.filter(needs_evaluation=True).exists()


@pytest.mark.django_db
class TestRevisions:
    def test_from_at_risk_to_six_or_more_keeps_the_alert_and_records_the_revision(self):
        response = answer(customer(), 3)
        (alert,) = evaluate(response)
        assert evaluate(revise(response, 8)) == []
        alert.refresh_from_db()
        assert alert.score == 8 and alert.status == AlertStatus.OPEN
        (note,) = alert.notes.filter(kind=NoteKind.REVISED)
        assert note.text == (
            "The customer changed their answer from 3 to 8 (satisfied): no longer at risk. "
            "The alert stays open until someone resolves it."
        )

    def test_from_six_or_more_to_below_six_raises_one_alert(self):
        response = answer(customer(), 7)
        assert evaluate(response) == []
        (alert,) = evaluate(revise(response, 4))
        assert alert.score == 4
        assert evaluate(revise(response, 2)) == []
        assert Alert.objects.count() == 1


@pytest.mark.django_db
class TestSuspectAnswers:
    def test_a_suspect_answer_waits_and_a_stable_one_raises_the_alert(self):
        invitation = sent_invitation(token=next(TOKENS), delivery__customer=customer(), sent_at=timezone.now())
        suspect = survey_services.record_response(invitation=invitation, score=1, now=invitation.sent_at + timedelta(seconds=2))
        assert suspect.is_suspect
        assert evaluate(suspect) == [] and services.evaluate_pending() == 0

        stable = survey_services.record_response(invitation=invitation, score=2, now=invitation.sent_at + timedelta(hours=1))
        (alert,) = services.evaluate_response(response_id=stable.pk, now=stable.submitted_at + timedelta(minutes=1))
        assert alert.score == 2


@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_sweep_racing_raise_one_alert():
    response = answer(customer(), 1)
    outcomes = run_at_once(
        lambda: services.evaluate_response(response_id=response.pk),
        lambda: services.evaluate_pending(),
        lambda: services.evaluate_response(response_id=response.pk),
    )
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert Alert.objects.count() == 1


RECORD_WITH_THE_BROKER_DOWN = """
import django; django.setup()
from surveys.models import Invitation
from surveys.services import record_response
record_response(invitation=Invitation.objects.get(pk={pk}), score=2, comment="Broken twice")
print("answer recorded")
"""


@pytest.mark.django_db(transaction=True)
def test_an_answer_recorded_with_redis_unreachable_still_alerts_after_the_sweep(tmp_path):
    invitation = sent_invitation(token=next(TOKENS), delivery__customer=customer(tier=1), sent_at=timezone.now() - timedelta(days=1))
    # Port 1 on loopback: nothing listens there, so publishing the evaluation fails.
    env = child_environment(var_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    web = subprocess.run(
        [sys.executable, "-c", RECORD_WITH_THE_BROKER_DOWN.format(pk=invitation.pk)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert "answer recorded" in web.stdout, web.stderr
    assert "Could not enqueue insights.tasks.evaluate_response" in web.stderr
    assert Alert.objects.count() == 0

    # The broker is back; beat runs the sweep once the answer has been quiet for a minute.
    assert services.evaluate_pending(now=timezone.now() + timedelta(minutes=1)) == 1

    alert = Alert.objects.get()
    assert (alert.priority, alert.score, alert.response.comment) == (1, 2, "Broken twice")

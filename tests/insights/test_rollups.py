"""What the insights read instead of every answer, kept on write: each customer's latest
counted answer (insights/dashboard/rollups.py) and the answers of the days not settled
yet (insights/dashboard/counts.py). Whatever happens to an answer, what is kept must
equal what a rebuild from the answers gives."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Sum

from customers.models import Band, Customer
from insights.dashboard import counts, figures, rollups
from insights.dashboard.figures import InsightFilters
from insights.models import ANY_SURVEY, InvitationCount, LatestAnswer, RecentAnswerCount
from surveys.models import Response
from surveys.services import record_response, review_suspect_answer
from tests.factories import CustomerFactory, StaffFactory, SurveyFactory, UserFactory, answer_at, sent_invitation

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
JUNE = InsightFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def customer():
    return CustomerFactory(name="Alpha", tier=1, revenue_12m=Decimal(100_000), account_manager=UserFactory())


def latest(customer, survey_key: int = ANY_SURVEY) -> tuple | None:
    return LatestAnswer.objects.filter(customer=customer, survey_key=survey_key).values_list("score", "band").first()


def kept_equals_rebuilt() -> None:
    kept = set(LatestAnswer.objects.values_list("customer", "survey_key", "response", "band", "score", "submitted_at"))
    assert rollups.differences() == 0
    rollups.rebuild()
    assert set(LatestAnswer.objects.values_list("customer", "survey_key", "response", "band", "score",
                                                "submitted_at")) == kept


def invite(customer, sent_at: datetime, token: str):
    return sent_invitation(delivery__customer=customer, sent_at=sent_at, token=token)


class TestLatestAnswer:
    def test_a_new_answer_becomes_the_customers_latest_to_its_survey_and_to_any(self, customer):
        answer = record_response(invitation=invite(customer, at(6, 1), "first-token-long"), score=9, now=at(6, 1, 13))
        assert latest(customer) == (9, Band.PROMOTER)
        assert latest(customer, answer.survey_id) == (9, Band.PROMOTER)
        kept_equals_rebuilt()

    def test_an_earlier_answer_saved_later_does_not_displace_a_newer_one(self, customer):
        answer_at(customer, 3, at(6, 10))
        answer_at(customer, 9, at(6, 5))
        assert latest(customer) == (3, Band.AT_RISK)
        kept_equals_rebuilt()

    def test_a_changed_answer_stands_as_the_latest(self, customer):
        invitation = invite(customer, at(6, 1), "changed-token-long")
        answer_at(customer, 8, at(6, 1, 14))
        record_response(invitation=invitation, score=2, now=at(6, 2))
        record_response(invitation=invitation, score=10, now=at(6, 3))
        assert latest(customer) == (10, Band.PROMOTER)
        kept_equals_rebuilt()

    def test_an_answer_judged_a_scanners_gives_way_to_the_one_before(self, customer):
        answer_at(customer, 7, at(6, 1))
        invitation = invite(customer, at(6, 5), "burst-token-long")
        record_response(invitation=invitation, score=1, now=at(6, 5, 12, 30))
        record_response(invitation=invitation, score=2, now=at(6, 5, 12, 30) + timedelta(seconds=2))
        record_response(invitation=invitation, score=3, now=at(6, 5, 12, 30) + timedelta(seconds=4))
        assert Response.objects.get(invitation=invitation).is_suspect
        assert latest(customer) == (7, Band.SATISFIED)
        kept_equals_rebuilt()

    def test_a_suspect_answer_confirmed_as_a_persons_counts_as_the_latest(self, customer):
        answer_at(customer, 9, at(6, 1))
        suspect = answer_at(customer, 2, at(6, 2), is_suspect=True)
        assert latest(customer) == (9, Band.PROMOTER)
        review_suspect_answer(response_id=suspect.pk, user=StaffFactory(), confirmed=True)
        assert latest(customer) == (2, Band.AT_RISK)
        kept_equals_rebuilt()

    def test_answers_written_around_the_model_are_set_right_by_verify(self, customer):
        answer_at(customer, 9, at(6, 1))
        LatestAnswer.objects.all().delete()
        assert rollups.verify() == 2  # to the survey and to any survey
        assert latest(customer) == (9, Band.PROMOTER)
        assert rollups.verify() == 0

    def test_the_figures_read_the_same_from_the_rollup_as_from_the_answers(self, customer):
        other = CustomerFactory(tier=3, revenue_12m=Decimal(5_000))
        answer_at(customer, 9, at(6, 3))
        answer_at(customer, 2, at(6, 20))
        answer_at(other, 8, at(5, 1))
        answer_at(other, 10, at(6, 25))
        assert figures.reads_latest_rollup(JUNE)
        from_rollup = figures.latest_answers(JUNE)
        answer_at(other, 6, at(7, 2))  # after June: June's latest answers are searched for
        assert not figures.reads_latest_rollup(JUNE)
        assert figures.latest_answers(JUNE) == from_rollup
        assert from_rollup.revenue_at_risk == {1: Decimal(100_000)}


class TestRecentCounts:
    @pytest.fixture
    def built(self, customer):
        invite(customer, at(6, 28), "keeps-june-28-open")  # days from 28 June are not settled on 1 July
        answer_at(customer, 9, at(6, 10))
        counts.rebuild(now=NOW)
        return customer

    def recent(self) -> dict:
        rows = RecentAnswerCount.objects.values_list("day", "band").annotate(total=Sum("answers"))
        return {(day, band): total for day, band, total in rows if total}

    def test_a_new_answer_adds_itself_to_its_day(self, built):
        record_response(invitation=invite(built, at(6, 29), "new-answer-token"), score=3, now=at(6, 29, 13))
        assert self.recent() == {(date(2026, 6, 29), Band.AT_RISK): 1}
        assert figures.summary(JUNE, now=NOW).mix == figures.BandMix(promoter=1, at_risk=1)

    def test_a_changed_answer_moves_to_the_day_and_band_it_stands_in(self, built):
        invitation = invite(built, at(6, 29), "changed-answer-token")
        record_response(invitation=invitation, score=3, now=at(6, 29, 13))
        record_response(invitation=invitation, score=10, now=at(6, 30, 9))
        assert self.recent() == {(date(2026, 6, 30), Band.PROMOTER): 1}

    def test_kept_counts_equal_rebuilt_ones(self, built):
        invitation = invite(built, at(6, 29), "kept-equals-rebuilt")
        record_response(invitation=invitation, score=3, now=at(6, 29, 13))
        record_response(invitation=invitation, score=6, now=at(6, 30, 9))
        answer_at(CustomerFactory(tier=None, account_manager=None), 8, at(6, 30))
        kept = self.recent()
        Customer.objects.update(updated_at=at(6, 1))  # the customers as they were before 1 July
        counts.rebuild(now=NOW)
        assert self.recent() == kept
        assert counts.refresh(now=NOW) is False

    def test_an_invitation_answered_after_the_rebuild_adds_to_its_days_answered(self, customer):
        invitation = invite(customer, at(6, 29), "answered-after-rebuild")
        counts.rebuild(now=NOW)
        assert InvitationCount.objects.aggregate(answered=Sum("answered"))["answered"] == 0
        record_response(invitation=invitation, score=9, now=NOW)
        assert InvitationCount.objects.aggregate(answered=Sum("answered"))["answered"] == 1
        assert (figures.summary(JUNE, now=NOW).reach.sent, figures.summary(JUNE, now=NOW).reach.answered) == (1, 1)


def test_the_command_rebuilds_and_verifies(customer):
    answer_at(customer, 9, at(6, 1))
    LatestAnswer.objects.all().delete()
    out = StringIO()
    call_command("rebuild_insights_rollups", "--verify", stdout=out)
    assert "2 rows differed" in out.getvalue()
    assert latest(customer) == (9, Band.PROMOTER)

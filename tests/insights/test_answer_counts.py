"""Answers counted ahead for settled days (insights/dashboard/counts.py): what they
hold, when they are rebuilt, and that the figures read them.
tests/insights/test_figures.py runs every count-based figure both ways and expects the
same numbers."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from customers.models import Band, Customer
from insights.dashboard import counts, figures
from insights.dashboard.figures import InsightFilters
from insights.models import AnswerCount, AnswerCountState, SpanAnswerCount
from surveys.services import record_response
from tests.factories import CustomerFactory, SurveyFactory, UserFactory, answer_at, sent_invitation
from tests.support.services import require_postgresql

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
JUNE = InsightFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def rows() -> set[tuple]:
    found = list(AnswerCount.objects.values_list("day", "survey__slug", "tier", "account_manager__username", "band",
                                                 "answers"))
    assert len(found) == len(set(found)), "a day counted twice"
    return set(found)


def total() -> int:
    return AnswerCount.objects.aggregate(answers=Sum("answers"))["answers"] or 0


@pytest.fixture
def ana():
    return UserFactory(username="ana")


@pytest.fixture
def customer(ana):
    return CustomerFactory(name="Alpha", tier=1, revenue_12m=Decimal(100_000), account_manager=ana)


class TestSettledDays:
    def test_days_settle_up_to_the_day_the_earliest_open_invitation_went_out(self, customer):
        sent_invitation(delivery__customer=customer, sent_at=at(6, 20, 9), token="open-since-the-twentieth")
        sent_invitation(delivery__customer=customer, sent_at=at(6, 25), token="open-since-the-25th")
        assert counts.settled_before(now=NOW) == date(2026, 6, 20)

    def test_an_expired_invitation_holds_nothing_back(self, customer):
        sent_invitation(delivery__customer=customer, sent_at=at(6, 1), token="long-expired-token")
        assert counts.settled_before(now=NOW) == date(2026, 7, 1)


class TestRebuild:
    def test_it_counts_settled_days_by_survey_tier_manager_and_band(self, customer):
        nps = SurveyFactory(slug="nps", scale_min=0, satisfied_min=7, promoter_min=9)
        answer_at(customer, 9, at(6, 10))
        answer_at(customer, 10, at(6, 10, 15))
        answer_at(customer, 3, at(6, 10, 16), survey=nps)
        answer_at(customer, 1, at(6, 11), is_suspect=True)
        answer_at(CustomerFactory(tier=None), 7, at(6, 11))
        answer_at(customer, 2, at(6, 30))  # sent on 30 June, still open on 1 July: not settled
        state = counts.rebuild(now=NOW)
        assert state.settled_before == date(2026, 6, 30)
        assert rows() == {
            (date(2026, 6, 10), "post-delivery", 1, "ana", Band.PROMOTER, 2),
            (date(2026, 6, 10), "nps", 1, "ana", Band.AT_RISK, 1),
            (date(2026, 6, 11), "post-delivery", None, None, Band.SATISFIED, 1),
        }

    def test_days_are_those_of_the_time_zone(self, customer, settings):
        settings.TIME_ZONE = "America/New_York"  # UTC−4 in June
        answer_at(customer, 9, at(6, 10, 2))
        counts.rebuild(now=NOW)
        assert {row[0] for row in rows()} == {date(2026, 6, 9)}
        assert AnswerCountState.objects.get().time_zone == "America/New_York"

    def test_the_figures_read_the_counts_for_settled_days(self, customer):
        answer_at(customer, 9, at(6, 10))
        counts.rebuild(now=NOW)
        AnswerCount.objects.update(answers=F("answers") + 4)  # what only the counts would say
        SpanAnswerCount.objects.update(answers=F("answers") + 4)
        assert figures.summary(JUNE, now=NOW).mix.promoter == 5

    def test_whole_months_and_week_parts_are_summed_ahead(self, customer):
        for day in (1, 3, 10, 30):
            answer_at(customer, 9, at(6, day))
        answer_at(customer, 9, at(7, 2))
        assert counts.rebuild(now=at(7, 20)).settled_before == date(2026, 7, 20)
        spans = set(SpanAnswerCount.objects.values_list("span", "start", "answers"))
        assert spans == {
            ("month", date(2026, 6, 1), 4),  # July is not over
            ("week_part", date(2026, 6, 1), 2),  # Monday 1 June to Sunday 7 June
            ("week_part", date(2026, 6, 8), 1),
            ("week_part", date(2026, 6, 29), 1),  # 29 and 30 June: the week cut at the month's end
            ("week_part", date(2026, 7, 1), 1),  # and its rest, 1 to 5 July
        }

    def test_a_period_reads_whole_months_then_week_parts_then_days(self):
        covered = counts.cover(date(2026, 5, 30), date(2026, 7, 15), months=True)
        assert covered.months == [date(2026, 6, 1)]
        assert covered.week_parts == [date(2026, 7, 1), date(2026, 7, 6)]
        assert covered.days == [date(2026, 5, 30), date(2026, 5, 31), date(2026, 7, 13), date(2026, 7, 14),
                                date(2026, 7, 15)]
        weekly = counts.cover(date(2026, 5, 30), date(2026, 6, 10), months=False)
        assert (weekly.week_parts, weekly.days) == ([date(2026, 6, 1)], [date(2026, 5, 30), date(2026, 5, 31),
                                                                          date(2026, 6, 8), date(2026, 6, 9),
                                                                          date(2026, 6, 10)])

    def test_counts_made_in_another_time_zone_are_not_read(self, customer, settings):
        answer_at(customer, 9, at(6, 10))
        counts.rebuild(now=NOW)
        AnswerCount.objects.update(answers=F("answers") + 4)
        settings.TIME_ZONE = "Europe/Madrid"
        assert counts.state() is None
        assert figures.summary(JUNE, now=NOW).mix.promoter == 1

    def test_an_answer_revised_after_the_rebuild_counts_as_it_stands(self, customer):
        invitation = sent_invitation(delivery__customer=customer, sent_at=at(6, 28), token="revised-after-token")
        record_response(invitation=invitation, score=2, now=at(6, 29))
        counts.rebuild(now=NOW)
        record_response(invitation=invitation, score=9, now=at(6, 30))
        assert figures.summary(JUNE, now=NOW).mix == figures.BandMix(promoter=1)


class TestRefresh:
    @pytest.fixture
    def built(self, customer):
        answer_at(customer, 9, at(6, 10))
        answer_at(customer, 3, at(6, 12))
        Customer.objects.update(updated_at=at(6, 1))  # the customers as they were before 1 July
        counts.rebuild(now=NOW)
        return customer

    def test_nothing_changed_nothing_rebuilt(self, built):
        assert counts.refresh(now=NOW + timedelta(minutes=5)) is False

    def test_it_builds_counts_that_are_missing(self, customer):
        answer_at(customer, 9, at(6, 10))
        assert counts.refresh(now=NOW) is True
        assert rows() == {(date(2026, 6, 10), "post-delivery", 1, "ana", Band.PROMOTER, 1)}

    def test_a_customer_moving_tier_is_counted_in_the_new_one(self, built):
        built.tier = 2
        built.save()
        assert counts.refresh(now=timezone.now()) is True
        assert {row[2] for row in rows()} == {2}
        assert [tier.mix.responses for tier in figures.summary(JUNE, now=NOW).tiers] == [0, 2, 0, 0]

    def test_a_customer_handed_to_another_manager_is_counted_under_them(self, built):
        built.account_manager = UserFactory(username="ben")
        built.save()
        assert counts.refresh(now=timezone.now()) is True
        assert {row[3] for row in rows()} == {"ben"}

    def test_answers_deleted_with_their_customer_are_counted_out(self, built):
        other = CustomerFactory(tier=3)
        answer_at(other, 8, at(6, 5))
        Customer.objects.update(updated_at=at(6, 1))
        counts.rebuild(now=NOW)
        other.delete()  # changes none of the customers left
        assert counts.refresh(now=NOW) is True
        assert total() == 2

    def test_a_new_settled_day_rebuilds(self, built):
        sent_invitation(delivery__customer=built, sent_at=at(6, 29), token="open-until-mid-july")
        counts.rebuild(now=NOW)
        assert AnswerCountState.objects.get().settled_before == date(2026, 6, 29)
        assert counts.refresh(now=at(7, 14)) is True  # the 29 June email has expired
        assert AnswerCountState.objects.get().settled_before == date(2026, 7, 14)


@pytest.mark.django_db(transaction=True)
def test_two_rebuilds_at_once_count_each_answer_once(customer):
    require_postgresql()
    from tests.support.concurrency import run_at_once

    for day in range(1, 11):  # every one settled by 1 July
        answer_at(customer, 9, at(6, day))

    def slow_rebuild() -> object:
        """A rebuild that dawdles after deleting the old counts, so that two overlap."""

        def dawdle(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if sql.startswith(f'DELETE FROM "{AnswerCount._meta.db_table}"'):
                time.sleep(0.3)
            return result

        with connection.execute_wrapper(dawdle):
            return counts.rebuild(now=NOW)

    outcomes = run_at_once(slow_rebuild, slow_rebuild)
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert total() == 10
    assert AnswerCountState.objects.count() == 1

"""Invitations counted ahead for the response rate (insights/dashboard/counts.py): each
day before the rebuild's in InvitationCount, each whole month and week part of the
settled days summed in SpanInvitationCount. Whatever was sent and answered, before the
rebuild or after it, the response rate read from the counts equals the one read from
the invitations themselves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.dashboard import counts, figures
from insights.dashboard.figures import InsightFilters
from insights.models import InvitationCount, SpanInvitationCount
from surveys.models import InvitationStatus, Survey
from surveys.services import record_response
from tests.factories import CustomerFactory, SurveyFactory, UserFactory, sent_invitation

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
TOKENS = count()


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def invite(customer, sent_at: datetime, *, survey: Survey | None = None, answered: bool = False):
    """An invitation sent at `sent_at`, open for 14 days; `answered`: it was, at once."""
    invitation = sent_invitation(delivery__customer=customer, delivery__survey=survey or Survey.default(),
                                 sent_at=sent_at, token=f"invitation-count-token-{next(TOKENS)}")
    if answered:
        invitation.status = InvitationStatus.RESPONDED
        invitation.save(update_fields=["status"])
    return invitation


def from_invitations(filters: InsightFilters) -> figures.Reach:
    return figures.reach(filters, state=None)


def from_counts(filters: InsightFilters) -> figures.Reach:
    state = counts.state()
    assert state is not None
    return figures.reach(filters, state=state)


def periods(today: date, **narrowed) -> list[InsightFilters]:
    """Periods ending today (a week, 90 days, a year, two years) and some ending earlier,
    within the settled days and across their end."""
    ranges = [(today - timedelta(days=days), today) for days in (6, 89, 364, 729)]
    ranges += [(date(2025, 11, 20), date(2026, 3, 4)), (date(2026, 2, 1), date(2026, 2, 28)),
               (date(2026, 5, 27), date(2026, 6, 24)), (date(2026, 6, 15), date(2026, 6, 30))]
    return [InsightFilters(date_from=first, date_to=last, **narrowed) for first, last in ranges]


@pytest.fixture
def customer():
    return CustomerFactory(tier=1, revenue_12m=Decimal(100_000), account_manager=UserFactory())


class TestSpans:
    def test_settled_invitations_are_summed_by_whole_month_and_week_part(self, customer):
        for day in (1, 3, 10, 30):
            invite(customer, at(6, day), answered=day != 3)
        invite(customer, at(7, 2), answered=True)
        invite(customer, at(7, 20, 9))  # open on 20 July: the days from then on are not settled
        assert counts.rebuild(now=at(7, 21)).settled_before == date(2026, 7, 20)
        spans = set(SpanInvitationCount.objects.values_list("span", "start", "sent", "answered"))
        assert spans == {
            ("month", date(2026, 6, 1), 4, 3),  # July is not settled
            ("week_part", date(2026, 6, 1), 2, 1),  # Monday 1 June to Sunday 7 June
            ("week_part", date(2026, 6, 8), 1, 1),
            ("week_part", date(2026, 6, 29), 1, 1),  # 29 and 30 June: the week cut at the month's end
            ("week_part", date(2026, 7, 1), 1, 1),  # and its rest, 1 to 5 July
        }

    def test_a_year_reads_the_months_from_the_spans(self, customer):
        invite(customer, at(3, 10), answered=True)
        counts.rebuild(now=NOW)
        InvitationCount.objects.update(sent=F("sent") + 5)  # what only the day rows would say
        march = InsightFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
        assert from_counts(march) == figures.Reach(sent=1, answered=1)

    def test_spans_that_disagree_with_their_days_are_rebuilt(self, customer):
        invite(customer, at(3, 10), answered=True)
        counts.rebuild(now=NOW)
        SpanInvitationCount.objects.update(answered=0)
        assert counts.refresh(now=NOW + timedelta(minutes=5)) is True
        assert set(SpanInvitationCount.objects.values_list("answered", flat=True)) == {1}

    def test_an_answer_after_the_rebuild_counts_in_the_days_not_settled(self, customer):
        invitation = invite(customer, at(6, 25))
        counts.rebuild(now=NOW)
        record_response(invitation=invitation, score=9, now=NOW)
        june = InsightFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
        assert from_counts(june) == from_invitations(june) == figures.Reach(sent=1, answered=1)


# --- Randomized histories

# (customer, survey, days before NOW it was sent, answered at once)
sent_before = st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(1, 420), st.booleans())
# (which of the invitations still open is answered after the rebuild)
answered_after = st.integers(0, 50)


class TestRandomHistories:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(sent_before, min_size=1, max_size=14), st.lists(answered_after, max_size=4))
    def test_the_response_rate_from_the_counts_equals_that_from_the_invitations(self, history, later):
        with transaction.atomic():
            managers = [UserFactory(), UserFactory()]
            surveys = [Survey.default(), SurveyFactory(slug="second")]
            customers = [CustomerFactory(tier=tier, account_manager=managers[tier % 2] if tier != 3 else None)
                         for tier in (1, 2, 4, 3)]
            invitations = [invite(customers[who], NOW - timedelta(days=days, hours=who), survey=surveys[survey],
                                  answered=answered)
                           for who, survey, days, answered in history]
            counts.rebuild(now=NOW)
            still_open = [each for each in invitations if each.status == InvitationStatus.SENT and each.expires_at > NOW]
            for pick in later:
                if still_open:
                    record_response(invitation=still_open.pop(pick % len(still_open)), score=7, now=NOW)
            today = NOW.date()
            narrowed = [{}, *({"survey": survey} for survey in surveys), *({"account_manager": m} for m in managers),
                        {"tier": 1}, {"tier": 4}]
            for each in narrowed:
                for filters in periods(today, **each):
                    assert from_counts(filters) == from_invitations(filters), filters
            transaction.set_rollback(True)

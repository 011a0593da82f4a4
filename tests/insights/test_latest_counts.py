"""Customers counted by their latest answer (insights/dashboard/latest_counts.py), kept on
every write that moves a latest answer or the customer it is counted under: whatever
happened, the figures read from the counts equal those read from the customers' latest
answers, and the counts equal a rebuild."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from customers.services import CustomerData, erase_contact, recompute_value_metrics, upsert_customer, upsert_customers
from customers.signals import customers_changed
from insights.dashboard import figures, latest_counts, rollups
from insights.dashboard.figures import InsightFilters
from insights.models import LatestAnswer, LatestAnswerCount
from surveys import bands
from surveys.models import Response, Survey
from surveys.services import record_response
from tests.factories import (
    CustomerFactory, InvoiceFactory, StaffFactory, SurveyFactory, UserFactory, answer_at, sent_invitation,
)

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


def periods(*, survey: Survey | None = None, tier: int | None = None, manager=None) -> list[InsightFilters]:
    """The periods the insights offer, each reaching today: the default 90 days, 12
    months, a week (shorter than the month either begins in) and two years."""
    return [
        dataclasses.replace(InsightFilters.default(today=today()), survey=survey, tier=tier, account_manager=manager),
        *(InsightFilters(date_from=today() - timedelta(days=days), date_to=today(), survey=survey, tier=tier,
                         account_manager=manager) for days in (364, 6, 730)),
    ]


def from_answers(filters: InsightFilters) -> figures.LatestAnswers:
    """The same figures read from the customers' latest answers (the book of every customer)."""
    return figures.latest_answers(dataclasses.replace(filters, book=Customer.objects.all()))


def assert_counts_true(*, surveys=(), tiers=(), managers=()) -> None:
    assert latest_counts.differences() == 0
    filters = [*periods(), *(f for survey in surveys for f in periods(survey=survey)),
               *(f for tier in tiers for f in periods(tier=tier)), *(f for m in managers for f in periods(manager=m))]
    for each in filters:
        assert figures.latest_answers(each) == from_answers(each), each


@pytest.fixture
def customer():
    return CustomerFactory(tier=1, revenue_12m=Decimal("100000.00"), account_manager=UserFactory())


def ago(days: int, hours: int = 1):
    return timezone.now() - timedelta(days=days, hours=hours)


# --- Randomized histories

answers = st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(1, 10), st.integers(0, 420))
steps = st.one_of(
    st.tuples(st.just("answer"), answers),
    st.tuples(st.just("revise"), st.tuples(st.integers(0, 50), st.integers(1, 10), st.integers(0, 420))),
    st.tuples(st.just("suspect"), st.tuples(st.integers(0, 50), st.booleans())),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("customer"), st.tuples(st.integers(0, 3), st.sampled_from([None, 1, 2, 3, 4]), st.integers(0, 2),
                                            st.decimals(0, 10**6, places=2), st.booleans(), st.booleans())),
)


class TestRandomHistories:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(steps, min_size=1, max_size=14))
    def test_the_figures_from_the_counts_equal_those_from_the_latest_answers(self, history):
        with transaction.atomic():
            managers = [UserFactory(), UserFactory()]
            survey_list = [Survey.default(), SurveyFactory(slug="second")]
            customers = [CustomerFactory(tier=tier, revenue_12m=Decimal(revenue), account_manager=managers[tier % 2])
                         for tier, revenue in ((1, 90_000), (2, 9_000), (4, 500), (3, 0))]
            given_answers: list[Response] = []
            for kind, step in history:
                self.apply(kind, step, customers, managers, survey_list, given_answers)
            assert_counts_true(surveys=survey_list, tiers=(1, 4), managers=managers)
            transaction.set_rollback(True)

    def apply(self, kind, step, customers, managers, survey_list, given_answers) -> None:
        if kind == "answer":
            who, survey, score, days = step
            given_answers.append(answer_at(customers[who], score, ago(days), survey=survey_list[survey]))
            return
        if kind == "customer":
            who, tier, manager, revenue, active, announce_all = step
            # As the tier recompute (every customer) or an edit (this one) writes them.
            Customer.objects.filter(pk=customers[who].pk).update(
                tier=tier, revenue_12m=revenue, is_active=active,
                account_manager=managers[manager] if manager < len(managers) else None,
            )
            customers_changed.send(sender=Customer, customer_ids=None if announce_all else [customers[who].pk])
            return
        if not given_answers:
            return
        if kind == "delete":
            given_answers.pop(step % len(given_answers)).delete()
            return
        answer = given_answers[(step[0]) % len(given_answers)]
        answer.refresh_from_db()
        if kind == "revise":
            _, score, days = step
            answer.score, answer.submitted_at = score, ago(days, hours=0)
            answer.band = bands.classify(score, answer.survey)
        else:
            answer.is_suspect = step[1]
        answer.save()


def assert_nobody_counted_at_risk() -> None:
    """The customer's latest answer moved out of at-risk: no count, no revenue at risk,
    and the counts as a rebuild would make them."""
    assert LatestAnswerCount.objects.filter(band="at_risk").exclude(customers=0).count() == 0
    assert figures.latest_answers(periods()[0]).revenue_at_risk == {}
    assert_counts_true()


# --- Each write path


class TestAnswerWrites:
    def test_a_first_answer_counts_its_customer_in_its_day_and_month(self, customer):
        invitation = sent_invitation(delivery__customer=customer, sent_at=ago(3), token="first-answer-token")
        record_response(invitation=invitation, score=3, now=ago(3, hours=0))
        day = timezone.localdate(ago(3, hours=0))
        rows = set(LatestAnswerCount.objects.filter(survey_key=0).values_list("span", "start", "band", "customers",
                                                                               "revenue"))
        assert rows == {("day", day, "at_risk", 1, Decimal("100000.00")),
                        ("month", day.replace(day=1), "at_risk", 1, Decimal("100000.00"))}
        assert figures.latest_answers(periods()[0]).revenue_at_risk == {1: Decimal("100000.00")}
        assert_counts_true()

    def test_a_first_answer_to_another_survey_link_replaces_the_customers_latest(self, customer):
        """The first-answer path (one statement on PostgreSQL) moves the counts by what
        LatestAnswer held before it, as the model-save path does."""
        earlier = sent_invitation(delivery__customer=customer, sent_at=ago(20), token="earlier-answer-token")
        later = sent_invitation(delivery__customer=customer, sent_at=ago(5), token="later-answer-token")
        record_response(invitation=earlier, score=2, now=ago(20, hours=0))
        record_response(invitation=later, score=10, now=ago(5, hours=0))
        assert_nobody_counted_at_risk()

    def test_a_revision_that_changes_band_and_day_moves_the_customer(self, customer):
        invitation = sent_invitation(delivery__customer=customer, sent_at=ago(40), token="revised-answer-token")
        record_response(invitation=invitation, score=2, now=ago(40, hours=0))
        record_response(invitation=invitation, score=10, now=ago(30, hours=0))
        assert_nobody_counted_at_risk()

    def test_an_erased_contacts_answers_still_count(self, customer):
        answer = answer_at(customer, 4, ago(10), comment="Call me")
        erase_contact(contact=answer.invitation.contact, by=StaffFactory())
        assert figures.latest_answers(periods()[0]).revenue_at_risk == {1: Decimal("100000.00")}
        assert_counts_true()

    def test_a_deleted_answer_gives_way_to_the_one_before(self, customer):
        answer_at(customer, 9, ago(50))
        answer_at(customer, 2, ago(5)).delete()
        latest = figures.latest_answers(periods()[0])
        assert latest.revenue_at_risk == {}
        assert latest.weighted_net_score == 100.0
        assert_counts_true()

    def test_a_deleted_customer_is_counted_out(self, customer):
        answer_at(customer, 2, ago(5))
        customer.delete()
        assert figures.latest_answers(periods()[0]).customers == 0
        assert_counts_true()


class TestCustomerChanges:
    def test_a_customer_handed_to_another_manager_is_counted_under_them(self, customer):
        answer_at(customer, 2, ago(5))
        successor = UserFactory()
        upsert_customer(external_id=customer.external_id, name=customer.name, account_manager=successor)
        assert figures.latest_answers(periods(manager=successor)[0]).revenue_at_risk == {1: Decimal("100000.00")}
        assert_counts_true(managers=[successor])

    def test_a_customer_made_inactive_is_counted_out(self, customer):
        answer_at(customer, 2, ago(5))
        upsert_customer(external_id=customer.external_id, name=customer.name,
                        account_manager=customer.account_manager, is_active=False)
        assert figures.latest_answers(periods()[0]).customers == 0
        assert_counts_true()

    def test_customers_written_in_bulk_move_with_it(self, customer):
        answer_at(customer, 2, ago(5))
        upsert_customers(customers=[CustomerData(external_id=customer.external_id, name="Renamed", is_active=False)])
        assert figures.latest_answers(periods()[0]).customers == 0
        assert_counts_true()

    def test_the_tier_recompute_moves_tiers_and_revenue(self, customer):
        small = CustomerFactory(tier=1, revenue_12m=Decimal("1.00"))
        answer_at(customer, 2, ago(5))
        answer_at(small, 3, ago(6))
        InvoiceFactory(customer=small, amount=Decimal("900000.00"), issued_on=today() - timedelta(days=10))
        InvoiceFactory(customer=customer, amount=Decimal("1000.00"), issued_on=today() - timedelta(days=10))
        recompute_value_metrics()
        assert figures.latest_answers(periods()[0]).revenue_at_risk == {
            1: Decimal("900000.00"), 4: Decimal("1000.00")
        }
        assert_counts_true(tiers=(1, 4))

    def test_a_customer_saved_as_a_model_moves_with_it(self, customer):
        answer_at(customer, 2, ago(5))
        customer.tier, customer.revenue_12m = 3, Decimal("12.50")
        customer.save()
        assert figures.latest_answers(periods()[0]).revenue_at_risk == {3: Decimal("12.50")}
        assert_counts_true(tiers=(3,))

    def test_a_deleted_manager_leaves_their_customers_without_one(self, customer):
        answer_at(customer, 2, ago(5))
        customer.account_manager.delete()
        assert_counts_true()


class TestVerify:
    def test_counts_gone_wrong_are_found_and_rebuilt(self, customer):
        answer_at(customer, 2, ago(5))
        LatestAnswerCount.objects.update(customers=7)
        assert latest_counts.verify() > 0
        assert latest_counts.verify() == 0
        assert_counts_true()

    def test_a_customer_changed_unannounced_is_found_and_rebuilt(self, customer):
        answer_at(customer, 2, ago(5))
        Customer.objects.update(tier=3)
        assert latest_counts.differences() > 0
        rollups.verify()  # true to the answers: the latest answers stand
        assert latest_counts.verify() > 0
        assert_counts_true(tiers=(3,))

    def test_the_command_verifies_the_counts(self, customer):
        answer_at(customer, 2, ago(5))
        LatestAnswerCount.objects.all().delete()
        out = StringIO()
        call_command("rebuild_insights_rollups", "--verify", stdout=out)
        assert "Latest answer counts: 4 rows differed: rebuilt." in out.getvalue()
        assert_counts_true()


def test_days_are_those_of_the_time_zone(customer, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    with timezone.override("Pacific/Auckland"):
        answer_at(customer, 2, ago(5))
        assert_counts_true()

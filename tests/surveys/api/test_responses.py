from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from customers.models import Customer
from surveys.models import Response
from tests.factories import ApiUserFactory, CustomerFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/responses/"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ALL = {"acme_old_promoter", "acme_new_at_risk", "bolt_old_satisfied", "bolt_new_at_risk"}


def answer(customer: Customer, score: int, *, at: datetime = NOON, **fields) -> Response:
    return ResponseFactory(customer=customer, score=score, submitted_at=at, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


class TestResponseFields:
    def test_each_response_carries_the_contract_fields(self, api):
        survey = SurveyFactory(slug="after-install")
        customer = CustomerFactory(external_id="CRM-1")
        response = answer(
            customer,
            4,
            comment="The fitter came late.",
            invitation__delivery__reference="ORDER-77",
            invitation__delivery__survey=survey,
            invitation__delivery__contact__email="ana@acme.example",
        )
        (row,) = api.get(URL).json()["results"]
        assert row == {
            "id": response.pk,
            "customer": "CRM-1",
            "contact_email": "ana@acme.example",
            "delivery_reference": "ORDER-77",
            "survey": "after-install",
            "score": 4,
            "band": "at_risk",
            "comment": "The fitter came late.",
            "submitted_at": row["submitted_at"],
            "is_suspect": False,
            "revisions": 0,
        }
        submitted_at = parse_datetime(row["submitted_at"])
        assert submitted_at.tzinfo is not None and submitted_at == NOON

    @pytest.mark.parametrize(("score", "band"), [(10, "promoter"), (9, "promoter"), (8, "satisfied"), (5, "at_risk")])
    def test_band_names_are_the_api_names(self, api, score, band):
        answer(CustomerFactory(), score)
        assert api.get(URL).json()["results"][0]["band"] == band

    def test_a_revised_suspect_answer_says_so(self, api):
        answer(CustomerFactory(), 1, is_suspect=True, revisions=2)
        row = api.get(URL).json()["results"][0]
        assert (row["is_suspect"], row["revisions"]) == (True, 2)


class TestResponseList:
    def test_the_latest_answer_comes_first(self, api):
        customer = CustomerFactory()
        old = answer(customer, 9, at=NOON - timedelta(days=2))
        new = answer(customer, 7, at=NOON)
        middle = answer(customer, 3, at=NOON - timedelta(days=1))
        assert ids(api.get(URL)) == [new.pk, middle.pk, old.pk]

    def test_it_is_paginated(self, api, monkeypatch):
        # DRF reads PAGE_SIZE once, when the pagination class is defined.
        monkeypatch.setattr(PageNumberPagination, "page_size", 2)
        customer = CustomerFactory()
        answers = [answer(customer, 9, at=NOON - timedelta(hours=n)) for n in range(5)]
        first = api.get(URL).json()
        assert first["count"] == 5 and first["previous"] is None
        assert [row["id"] for row in first["results"]] == [answers[0].pk, answers[1].pk]
        last = api.get(URL, {"page": 3}).json()
        assert [row["id"] for row in last["results"]] == [answers[4].pk]
        assert last["next"] is None
        assert api.get(URL, {"page": 4}).status_code == 404

    @pytest.mark.parametrize("answers", [5, 50])
    def test_the_list_takes_the_same_queries_however_many_answers(self, api, answers, django_assert_num_queries):
        for n in range(answers):
            answer(CustomerFactory(), n % 10 + 1, at=NOON - timedelta(minutes=n))
        # Token lookup, the token owner's other tokens, count, page (customer, survey,
        # invitation, contact and delivery joined).
        with django_assert_num_queries(4):
            response = api.get(URL)
        assert len(response.json()["results"]) == answers

    def test_an_account_managers_list_takes_the_same_queries(self, manager, manager_api, django_assert_num_queries):
        for n in range(20):
            answer(CustomerFactory(account_manager=manager if n % 2 else None), 5)
        with django_assert_num_queries(4):
            assert len(ids(manager_api.get(URL))) == 10

    def test_it_is_read_only(self, api):
        assert api.post(URL, {}, format="json").status_code == 405


class TestResponseFilters:
    @pytest.fixture
    def answers(self) -> dict[str, Response]:
        acme = CustomerFactory(external_id="ACME", tier=1)
        bolt = CustomerFactory(external_id="BOLT", tier=2)
        return {
            "acme_old_promoter": answer(acme, 10, at=NOON - timedelta(days=3)),
            "acme_new_at_risk": answer(acme, 2, at=NOON),
            "bolt_old_satisfied": answer(bolt, 7, at=NOON - timedelta(days=3)),
            "bolt_new_at_risk": answer(bolt, 4, at=NOON + timedelta(hours=1)),
        }

    def names(self, answers: dict[str, Response], response) -> set[str]:
        by_id = {answer.pk: name for name, answer in answers.items()}
        return {by_id[pk] for pk in ids(response)}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"band": "at_risk"}, {"acme_new_at_risk", "bolt_new_at_risk"}),
            ({"band": "promoter"}, {"acme_old_promoter"}),
            ({"band": "satisfied"}, {"bolt_old_satisfied"}),
            ({"tier": "1"}, {"acme_old_promoter", "acme_new_at_risk"}),
            ({"tier": "2"}, {"bolt_old_satisfied", "bolt_new_at_risk"}),
            ({"tier": "3"}, set()),
            ({"customer": "BOLT"}, {"bolt_old_satisfied", "bolt_new_at_risk"}),
            ({"customer": "NOBODY"}, set()),
            ({"since": "2026-03-10T12:00:00Z"}, {"acme_new_at_risk", "bolt_new_at_risk"}),
            ({"since": "2026-03-10T13:00:00+01:00"}, {"acme_new_at_risk", "bolt_new_at_risk"}),
            ({"since": "2026-03-10T13:00:01+01:00"}, {"bolt_new_at_risk"}),
            ({"since": "2026-03-10"}, {"acme_new_at_risk", "bolt_new_at_risk"}),
            ({"since": "2026-03-07"}, ALL),
            ({"band": "at_risk", "tier": "1"}, {"acme_new_at_risk"}),
            ({"band": "at_risk", "customer": "BOLT"}, {"bolt_new_at_risk"}),
            ({"tier": "2", "since": "2026-03-10"}, {"bolt_new_at_risk"}),
            ({"customer": "ACME", "since": "2026-03-08"}, {"acme_new_at_risk"}),
            ({"band": "at_risk", "tier": "1", "customer": "BOLT"}, set()),
            ({"band": "at_risk", "tier": "2", "customer": "BOLT", "since": "2026-03-10T13:00Z"}, {"bolt_new_at_risk"}),
            ({"band": "satisfied", "since": "2026-03-10"}, set()),
        ],
    )
    def test_it_filters(self, api, answers, query, expected):
        assert self.names(answers, api.get(URL, query)) == expected

    def test_tier_is_the_customers_current_tier(self, api, answers):
        Customer.objects.filter(external_id="BOLT").update(tier=1)
        assert len(ids(api.get(URL, {"tier": "1"}))) == 4

    def test_an_offset_whose_plus_was_not_encoded_still_counts(self, api, answers):
        # ?since=2026-03-10T13:00:01+01:00 typed as is: the + arrives as a space.
        response = api.get(f"{URL}?since=2026-03-10T13:00:01+01:00")
        assert self.names(answers, response) == {"bolt_new_at_risk"}

    def test_a_date_starts_at_midnight_server_time(self, api, settings):
        settings.TIME_ZONE = "Europe/Madrid"  # UTC+1 in March
        customer = CustomerFactory()
        just_after_midnight = answer(customer, 9, at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
        answer(customer, 9, at=datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
        assert ids(api.get(URL, {"since": "2026-03-10"})) == [just_after_midnight.pk]

    @pytest.mark.parametrize(
        ("query", "field", "message"),
        [
            ({"since": "2026-03-10T12:00:00"}, "since", "Include a UTC offset"),
            ({"since": "yesterday"}, "since", "Enter a date"),
            ({"since": "2026-02-30"}, "since", "Enter a date"),
            ({"since": "2026-02-30T10:00:00Z"}, "since", "Enter a date"),
            ({"since": "0001-01-01T00:00:00+01:00"}, "since", "Enter a date"),
            ({"band": "detractor"}, "band", "Select a valid choice"),
            ({"tier": "5"}, "tier", "Select a valid choice"),
            ({"tier": "one"}, "tier", "Select a valid choice"),
        ],
    )
    def test_a_bad_filter_is_a_400_naming_it(self, api, query, field, message):
        response = api.get(URL, query)
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert message in response.json()[field][0]

    def test_an_empty_filter_is_ignored(self, api, answers):
        assert self.names(answers, api.get(URL, {"since": "", "band": "", "tier": "", "customer": ""})) == ALL


class TestResponseAccess:
    @pytest.fixture(autouse=True)
    def answers(self, manager) -> dict[str, Response]:
        return {
            "mine": answer(CustomerFactory(external_id="MINE", account_manager=manager), 3),
            "theirs": answer(CustomerFactory(external_id="THEIRS", account_manager=ApiUserFactory()), 3),
            "nobodys": answer(CustomerFactory(external_id="NOBODYS"), 3),
        }

    def test_staff_see_every_answer(self, api, answers):
        assert set(ids(api.get(URL))) == {answer.pk for answer in answers.values()}

    def test_an_account_manager_sees_only_their_customers_answers(self, manager_api, answers):
        assert ids(manager_api.get(URL)) == [answers["mine"].pk]

    def test_filtering_by_someone_elses_customer_finds_nothing(self, manager_api):
        assert ids(manager_api.get(URL, {"customer": "THEIRS"})) == []

    def test_an_account_manager_cannot_write(self, manager_api):
        assert manager_api.post(URL, {}, format="json").status_code == 403

    def test_an_anonymous_read_is_401_with_a_token_challenge(self):
        response = APIClient().get(URL)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_an_expired_token_is_401(self, staff):
        _, token = AuthToken.objects.create(user=staff, expiry=timedelta(seconds=-1))
        assert client_with(token).get(URL).status_code == 401

    def test_a_revoked_token_is_401(self, staff):
        instance, token = AuthToken.objects.create(user=staff)
        instance.delete()
        assert client_with(token).get(URL).status_code == 401

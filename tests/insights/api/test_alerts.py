from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from customers.models import Customer
from insights.models import Alert, AlertKind, AlertNote, AlertStatus, NoteKind
from tests.factories import AlertFactory, ApiUserFactory, CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts/"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def detail(alert: Alert) -> str:
    return f"{URL}{alert.pk}/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def alert(manager) -> Alert:
    """An open alert of a customer that `manager` manages."""
    return AlertFactory(customer=CustomerFactory(external_id="MINE", account_manager=manager, tier=2))


class TestAlertFields:
    def test_each_alert_carries_the_contract_fields(self, api, manager):
        customer = CustomerFactory(
            external_id="CRM-1", account_manager=manager, tier=1, revenue_12m=Decimal("250000.50"), on_time_rate=0.9
        )
        alert = AlertFactory(customer=customer, score=2, response__comment="Late again.", created_at=NOON)
        (row,) = api.get(URL).json()["results"]
        assert row == {
            "id": alert.pk,
            "customer": "CRM-1",
            "tier": 1,
            "priority": 1,
            "high_value": True,
            "kind": "at_risk",
            "status": "open",
            "assignee": "ana",
            "score": 2,
            "comment": "Late again.",
            "lost_contact_email": "",
            "lost_contact_reason": "",
            "lost_contact_at": None,
            "revenue_12m": "250000.50",
            "created_at": row["created_at"],
            "due_at": row["due_at"],
            "acknowledged_at": None,
            "resolved_at": None,
            "escalated_at": None,
            "reason": "Critical priority: tier 1; €250,001 revenue in 12 months; scored 2, first answer; "
            "pays 90% of invoices on time.",
        }
        assert parse_datetime(row["created_at"]) == NOON
        assert parse_datetime(row["due_at"]) == NOON + timedelta(hours=4)
        assert parse_datetime(row["due_at"]).tzinfo is not None

    def test_an_alert_for_the_cx_leads_has_no_assignee(self, api):
        AlertFactory(customer=CustomerFactory(tier=3))
        assert api.get(URL).json()["results"][0]["assignee"] is None

    def test_a_decline_alert_says_its_kind(self, api):
        AlertFactory(customer=CustomerFactory(tier=1), kind=AlertKind.DECLINE, score=6)
        row = api.get(URL).json()["results"][0]
        assert (row["kind"], row["priority"]) == ("decline", 2)

    def test_worked_alerts_give_their_times_with_an_offset(self, api, staff):
        AlertFactory(
            status=AlertStatus.RESOLVED,
            acknowledged_at=NOON,
            resolved_at=NOON + timedelta(hours=1),
            escalated_at=NOON - timedelta(hours=1),
        )
        row = api.get(URL).json()["results"][0]
        for field, expected in [
            ("acknowledged_at", NOON),
            ("resolved_at", NOON + timedelta(hours=1)),
            ("escalated_at", NOON - timedelta(hours=1)),
        ]:
            moment = parse_datetime(row[field])
            assert moment.tzinfo is not None and moment == expected, field

    def test_the_detail_is_the_same_alert(self, api, alert):
        response = api.get(detail(alert))
        assert response.status_code == 200
        assert response.json() == api.get(URL).json()["results"][0]


class TestAlertList:
    def test_it_ranks_by_priority_then_revenue_then_age(self, api):
        def ranked(tier: int, revenue: str, hours_ago: int) -> Alert:
            customer = CustomerFactory(tier=tier, revenue_12m=Decimal(revenue))
            return AlertFactory(customer=customer, created_at=NOON - timedelta(hours=hours_ago))

        small_old = ranked(4, "100", 10)
        big_new = ranked(1, "900000", 1)
        big_old = ranked(1, "900000", 5)
        bigger = ranked(1, "950000", 0)
        medium = ranked(2, "50000", 20)
        assert ids(api.get(URL)) == [bigger.pk, big_old.pk, big_new.pk, medium.pk, small_old.pk]

    def test_it_is_paginated(self, api, monkeypatch):
        # DRF reads PAGE_SIZE once, when the pagination class is defined.
        monkeypatch.setattr(PageNumberPagination, "page_size", 2)
        customer = CustomerFactory(tier=3)
        alerts = [AlertFactory(customer=customer, created_at=NOON + timedelta(hours=n)) for n in range(5)]
        first = api.get(URL).json()
        assert first["count"] == 5 and first["previous"] is None
        assert [row["id"] for row in first["results"]] == [alerts[0].pk, alerts[1].pk]
        last = api.get(URL, {"page": 3}).json()
        assert [row["id"] for row in last["results"]] == [alerts[4].pk] and last["next"] is None

    @pytest.mark.parametrize("alerts", [5, 50])
    def test_the_list_takes_the_same_queries_however_many_alerts(self, api, alerts, django_assert_num_queries):
        for n in range(alerts):
            AlertFactory(customer=CustomerFactory(tier=n % 4 + 1, account_manager=ApiUserFactory()))
        # Token lookup, the token owner's other tokens, count, page (customer,
        # assignee and answer joined).
        with django_assert_num_queries(4):
            response = api.get(URL)
        assert len(response.json()["results"]) == alerts

    @pytest.mark.parametrize("alerts", [5, 50])
    def test_an_account_managers_list_takes_the_same_queries(
        self, manager, manager_api, alerts, django_assert_num_queries
    ):
        for _ in range(alerts):
            AlertFactory(customer=CustomerFactory(account_manager=manager))
            AlertFactory(customer=CustomerFactory(account_manager=ApiUserFactory()))
        with django_assert_num_queries(4):
            assert len(ids(manager_api.get(URL))) == alerts

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_it_answers_405_to_other_writes(self, api, alert, method):
        url = URL if method == "post" else detail(alert)
        assert getattr(api, method)(url, {}, format="json").status_code == 405


class TestAlertFilters:
    @pytest.fixture
    def alerts(self, manager) -> dict[str, Alert]:
        ben = ApiUserFactory(username="ben")
        acme = CustomerFactory(external_id="ACME", tier=1, account_manager=manager)
        bolt = CustomerFactory(external_id="BOLT", tier=3, account_manager=ben)
        cogs = CustomerFactory(external_id="COGS", tier=4)
        return {
            "acme_open": AlertFactory(customer=acme),
            "acme_decline": AlertFactory(customer=acme, kind=AlertKind.DECLINE, score=6),
            "bolt_acknowledged": AlertFactory(customer=bolt, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=NOON),
            "bolt_resolved": AlertFactory(
                customer=bolt, status=AlertStatus.RESOLVED, acknowledged_at=NOON, resolved_at=NOON
            ),
            "cogs_open": AlertFactory(customer=cogs),
        }

    def names(self, alerts: dict[str, Alert], response) -> set[str]:
        by_id = {alert.pk: name for name, alert in alerts.items()}
        return {by_id[pk] for pk in ids(response)}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"status": "open"}, {"acme_open", "acme_decline", "cogs_open"}),
            ({"status": "acknowledged"}, {"bolt_acknowledged"}),
            ({"status": "resolved"}, {"bolt_resolved"}),
            ({"priority": "1"}, {"acme_open"}),
            ({"priority": "2"}, {"acme_decline"}),
            ({"priority": "3"}, {"bolt_acknowledged", "bolt_resolved"}),
            ({"priority": "4"}, {"cogs_open"}),
            ({"kind": "decline"}, {"acme_decline"}),
            ({"kind": "at_risk"}, {"acme_open", "bolt_acknowledged", "bolt_resolved", "cogs_open"}),
            ({"tier": "1"}, {"acme_open", "acme_decline"}),
            ({"tier": "2"}, set()),
            ({"assignee": "ana"}, {"acme_open", "acme_decline"}),
            ({"assignee": "ben"}, {"bolt_acknowledged", "bolt_resolved"}),
            ({"assignee": "nobody"}, set()),
            ({"customer": "COGS"}, {"cogs_open"}),
            ({"customer": "NOBODY"}, set()),
            ({"status": "open", "priority": "1"}, {"acme_open"}),
            ({"status": "open", "assignee": "ana"}, {"acme_open", "acme_decline"}),
            ({"status": "resolved", "customer": "BOLT"}, {"bolt_resolved"}),
            ({"status": "open", "customer": "BOLT"}, set()),
            ({"priority": "2", "kind": "decline", "tier": "1"}, {"acme_decline"}),
            ({"status": "open", "priority": "1", "assignee": "ana", "customer": "ACME"}, {"acme_open"}),
            ({"status": "open", "priority": "1", "assignee": "ben", "customer": "ACME"}, set()),
        ],
    )
    def test_it_filters(self, api, alerts, query, expected):
        assert self.names(alerts, api.get(URL, query)) == expected

    def test_tier_is_the_tier_when_the_alert_was_raised(self, api, alerts):
        Customer.objects.filter(external_id="COGS").update(tier=1)
        assert self.names(alerts, api.get(URL, {"tier": "4"})) == {"cogs_open"}

    def test_an_account_managers_filters_stay_within_their_customers(self, manager_api, alerts):
        assert self.names(alerts, manager_api.get(URL, {"status": "open"})) == {"acme_open", "acme_decline"}
        assert self.names(alerts, manager_api.get(URL, {"customer": "BOLT"})) == set()

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"status": "closed"}, "status"),
            ({"priority": "5"}, "priority"),
            ({"priority": "critical"}, "priority"),
            ({"kind": "churn"}, "kind"),
            ({"tier": "0"}, "tier"),
        ],
    )
    def test_a_bad_filter_is_a_400_naming_it(self, api, query, field):
        response = api.get(URL, query)
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert "Select a valid choice" in response.json()[field][0]


class TestAcknowledging:
    def test_it_acknowledges_an_open_alert(self, manager, manager_api, alert):
        response = manager_api.patch(detail(alert), {"status": "acknowledged"}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == "acknowledged"
        assert parse_datetime(response.json()["acknowledged_at"]).tzinfo is not None
        alert.refresh_from_db()
        assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_at
        (note,) = alert.notes.all()
        assert (note.kind, note.author, note.text) == (NoteKind.ACKNOWLEDGED, manager, "")

    def test_a_note_goes_with_the_acknowledgement(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "acknowledged", "note": "Calling them today."}, format="json")
        assert alert.notes.get().text == "Calling them today."

    def test_acknowledging_twice_is_a_400_on_status(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "acknowledged"}, format="json")
        response = manager_api.patch(detail(alert), {"status": "acknowledged"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"status": ["This alert is already acknowledged."]}
        assert alert.notes.count() == 1

    def test_a_resolved_alert_cannot_be_acknowledged(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "resolved", "note": "Refunded."}, format="json")
        response = manager_api.patch(detail(alert), {"status": "acknowledged", "note": "Oops"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"status": ["This alert is already resolved."]}
        alert.refresh_from_db()
        assert alert.status == AlertStatus.RESOLVED
        assert not alert.notes.filter(text="Oops").exists()


class TestResolving:
    def test_it_resolves_with_a_note(self, manager, manager_api, alert):
        response = manager_api.patch(
            detail(alert), {"status": "resolved", "note": "  Refunded the late fee. "}, format="json"
        )
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "resolved"
        assert body["resolved_at"] and body["acknowledged_at"]
        note = alert.notes.get()
        assert (note.kind, note.author, note.text) == (NoteKind.RESOLVED, manager, "Refunded the late fee.")

    def test_an_acknowledged_alert_can_be_resolved(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "acknowledged"}, format="json")
        response = manager_api.patch(detail(alert), {"status": "resolved", "note": "Done."}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "resolved"

    @pytest.mark.parametrize("body", [{"status": "resolved"}, {"status": "resolved", "note": "  \n "}])
    def test_resolving_without_a_note_is_a_400_on_note(self, manager_api, alert, body):
        response = manager_api.patch(detail(alert), body, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["note"]
        assert "resolution note is required" in response.json()["note"][0]
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN and not alert.notes.exists()

    def test_resolving_twice_is_a_400_on_status(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "resolved", "note": "Done."}, format="json")
        response = manager_api.patch(detail(alert), {"status": "resolved", "note": "Again."}, format="json")
        assert response.status_code == 400
        assert response.json() == {"status": ["This alert is already resolved."]}
        assert alert.notes.count() == 1


class TestNotes:
    def test_a_note_alone_adds_a_note(self, manager, manager_api, alert):
        response = manager_api.patch(detail(alert), {"note": "Left a voicemail."}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == "open"
        note = alert.notes.get()
        assert (note.kind, note.author, note.text) == (NoteKind.NOTE, manager, "Left a voicemail.")

    def test_a_resolved_alert_still_takes_notes(self, manager_api, alert):
        manager_api.patch(detail(alert), {"status": "resolved", "note": "Done."}, format="json")
        assert manager_api.patch(detail(alert), {"note": "They renewed."}, format="json").status_code == 200
        assert alert.notes.filter(kind=NoteKind.NOTE).get().text == "They renewed."

    def test_a_blank_note_alone_is_a_400_on_note(self, manager_api, alert):
        response = manager_api.patch(detail(alert), {"note": " "}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["note"]
        assert not alert.notes.exists()

    def test_a_note_too_long_is_a_400_on_note(self, manager_api, alert):
        response = manager_api.patch(detail(alert), {"note": "x" * 4001}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["note"]

    def test_an_empty_body_says_what_to_send(self, manager_api, alert):
        response = manager_api.patch(detail(alert), {}, format="json")
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Send a status, a note, or both."]}


class TestBadChanges:
    @pytest.mark.parametrize("status", ["open", "closed", "", None, 2])
    def test_a_status_other_than_acknowledged_or_resolved_is_a_400_on_status(self, manager_api, alert, status):
        response = manager_api.patch(detail(alert), {"status": status, "note": "x"}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["status"]
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN and not alert.notes.exists()

    def test_a_form_encoded_body_is_415(self, manager_api, alert):
        form = "application/x-www-form-urlencoded"
        response = manager_api.patch(detail(alert), "status=acknowledged", content_type=form)
        assert response.status_code == 415

    def test_an_unknown_alert_is_404(self, api):
        assert api.patch(f"{URL}999999/", {"status": "acknowledged"}, format="json").status_code == 404
        assert api.get(f"{URL}not-a-number/").status_code == 404


class TestAlertAccess:
    @pytest.fixture
    def theirs(self) -> Alert:
        return AlertFactory(customer=CustomerFactory(external_id="THEIRS", account_manager=ApiUserFactory()))

    @pytest.fixture
    def nobodys(self) -> Alert:
        return AlertFactory(customer=CustomerFactory(external_id="NOBODYS"))

    def test_staff_see_every_alert(self, api, alert, theirs, nobodys):
        assert set(ids(api.get(URL))) == {alert.pk, theirs.pk, nobodys.pk}
        for each in (alert, theirs, nobodys):
            assert api.get(detail(each)).status_code == 200

    def test_an_account_manager_sees_only_their_customers_alerts(self, manager_api, alert, theirs, nobodys):
        assert ids(manager_api.get(URL)) == [alert.pk]
        assert manager_api.get(detail(alert)).status_code == 200
        assert manager_api.get(detail(theirs)).status_code == 404
        assert manager_api.get(detail(nobodys)).status_code == 404

    @pytest.mark.parametrize("other", ["theirs", "nobodys"])
    def test_an_account_manager_cannot_change_an_alert_they_may_not_see(self, request, manager_api, other):
        other = request.getfixturevalue(other)
        for body in ({"status": "acknowledged"}, {"status": "resolved", "note": "x"}, {"note": "x"}, {}):
            assert manager_api.patch(detail(other), body, format="json").status_code == 404
        other.refresh_from_db()
        assert other.status == AlertStatus.OPEN and not other.notes.exists()

    def test_visibility_follows_the_customers_current_manager(self, manager, manager_api, theirs):
        theirs.customer.account_manager = manager
        theirs.customer.save()
        assert manager_api.patch(detail(theirs), {"status": "acknowledged"}, format="json").status_code == 200

    def test_staff_may_work_any_alert(self, staff, api, theirs):
        response = api.patch(detail(theirs), {"status": "resolved", "note": "Handled by CX."}, format="json")
        assert response.status_code == 200
        assert theirs.notes.get().author == staff

    @pytest.mark.parametrize("method", ["get", "patch"])
    def test_an_anonymous_request_is_401_with_a_token_challenge(self, alert, method):
        for url in (URL, detail(alert)) if method == "get" else (detail(alert),):
            response = getattr(APIClient(), method)(url, {"status": "acknowledged"}, format="json")
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == "Token"
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN

    def test_an_expired_token_is_401(self, manager, alert):
        _, token = AuthToken.objects.create(user=manager, expiry=timedelta(seconds=-1))
        client = client_with(token)
        assert client.get(URL).status_code == 401
        assert client.patch(detail(alert), {"status": "acknowledged"}, format="json").status_code == 401

    def test_a_revoked_token_is_401(self, manager, alert):
        instance, token = AuthToken.objects.create(user=manager)
        instance.delete()
        client = client_with(token)
        assert client.get(URL).status_code == 401
        assert client.patch(detail(alert), {"status": "acknowledged"}, format="json").status_code == 401
        assert not AlertNote.objects.exists()

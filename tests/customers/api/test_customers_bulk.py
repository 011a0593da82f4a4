from __future__ import annotations

from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from customers.models import Customer
from tests.factories import ApiUserFactory, CustomerFactory

from .bulk import insert_statements

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/bulk/"


def rows(count: int, **overrides) -> list[dict]:
    return [{"external_id": f"B-{n}", "name": f"Bulk {n}", **overrides} for n in range(count)]


class TestBulkCustomers:
    def test_it_creates_new_and_replaces_existing_customers_by_external_id(self, api, manager):
        CustomerFactory(external_id="B-1", name="Old", cost_to_serve=Decimal("9"))
        response = api.post(
            URL,
            [
                {"external_id": "B-0", "name": "New", "account_manager": "ana", "cost_to_serve": "10.00"},
                {"external_id": "B-1", "name": "Renamed", "is_active": False},
            ],
            format="json",
        )
        assert response.status_code == 200, response.json()
        assert response.json() == {"created": 1, "updated": 1}
        new, replaced = Customer.objects.order_by("external_id")
        assert (new.name, new.account_manager, new.cost_to_serve, new.is_active) == (
            "New", manager, Decimal("10.00"), True,
        )
        assert (replaced.name, replaced.cost_to_serve, replaced.is_active) == ("Renamed", None, False)

    def test_tiers_are_recomputed_once_the_import_commits(self, api, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            api.post(URL, rows(3), format="json")
        assert len(callbacks) == 1
        assert set(Customer.objects.values_list("tier", flat=True)) == {4}

    def test_an_empty_list_writes_nothing(self, api):
        response = api.post(URL, [], format="json")
        assert response.json() == {"created": 0, "updated": 0}

    def test_one_bad_row_is_named_and_nothing_is_written(self, api):
        CustomerFactory(external_id="B-0", name="Untouched")
        body = rows(5)
        body[3]["name"] = ""
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json() == {"3": {"name": ["This field may not be blank."]}}
        assert list(Customer.objects.values_list("name", flat=True)) == ["Untouched"]

    def test_it_names_every_bad_row_and_field(self, api):
        body = rows(4)
        body[0]["cost_to_serve"] = "-5"
        body[2]["name"] = "A\r\nB"
        del body[3]["external_id"]
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert set(errors) == {"0", "2", "3"}
        assert list(errors["0"]) == ["cost_to_serve"]
        assert list(errors["2"]) == ["name"]
        assert errors["3"] == {"external_id": ["This field is required."]}
        assert not Customer.objects.exists()

    def test_an_unknown_account_manager_is_named_with_its_row(self, api, manager):
        body = rows(3, account_manager="ana")
        body[2]["account_manager"] = "ghost"
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json() == {"2": {"account_manager": ['No active user with username "ghost".']}}
        assert not Customer.objects.exists()

    def test_a_repeated_external_id_is_named_with_its_row(self, api):
        body = rows(3)
        body[2]["external_id"] = "B-0"
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "2": {"external_id": ["Repeats row 0: each customer may appear once per request."]}
        }
        assert not Customer.objects.exists()

    def test_it_accepts_a_thousand_rows(self, api):
        response = api.post(URL, rows(1000), format="json")
        assert response.json() == {"created": 1000, "updated": 0}

    def test_it_rejects_more_than_a_thousand_rows(self, api):
        response = api.post(URL, rows(1001), format="json")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["At most 1000 rows per request; split the list into several requests."]
        }
        assert not Customer.objects.exists()

    @pytest.mark.parametrize("payload", [{"external_id": "B-0", "name": "Not in a list"}, "text", None])
    def test_it_rejects_a_body_that_is_not_a_list(self, api, payload):
        response = api.post(URL, payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["non_field_errors"]

    def test_it_rejects_a_row_that_is_not_an_object(self, api):
        response = api.post(URL, [*rows(1), "B-1"], format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["1"]
        assert not Customer.objects.exists()

    @pytest.mark.parametrize("count", [10, 500])
    def test_it_writes_in_the_same_few_queries_for_10_or_500_rows(
        self, api, count, django_assert_max_num_queries
    ):
        managers = ApiUserFactory.create_batch(3)
        body = [
            {**row, "account_manager": managers[n % 3].username} for n, row in enumerate(rows(count))
        ]
        CustomerFactory(external_id="B-0")
        # Token and the owner's other tokens; usernames; savepoint; the customers before
        # and after; the inserts; the audit trail's entries; what the apps above derive
        # from the customers kept in step (customers_changed: insights' counts of latest
        # answers, two statements); the new customers marked unmeasured until their
        # recompute runs; savepoint release.
        inserts = insert_statements(Customer, count) + insert_statements(LogEntry, count)
        with django_assert_max_num_queries(10 + inserts):
            response = api.post(URL, body, format="json")
        assert response.json() == {"created": count - 1, "updated": 1}

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.utils import timezone

from customers.models import Band, Customer
from customers.services import recompute_value_metrics
from tests.factories import ApiUserFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def detail(external_id: str) -> str:
    return f"{URL}{quote(external_id, safe='')}/"


def body(**overrides) -> dict:
    return {"external_id": "CRM-1", "name": "Acme", **overrides}


DERIVED_FIELDS = {
    "revenue_12m", "on_time_rate", "avg_days_late", "net_value", "tier", "latest_score", "latest_band",
}


class TestCreateCustomer:
    def test_it_creates_a_customer_and_answers_with_its_derived_fields(self, api, manager):
        response = api.post(
            URL, body(account_manager="ana", cost_to_serve="1200.50", is_active=False), format="json"
        )
        assert response.status_code == 201, response.json()
        data = response.json()
        assert DERIVED_FIELDS <= data.keys()
        assert data["external_id"] == "CRM-1"
        assert data["account_manager"] == "ana"
        assert data["cost_to_serve"] == "1200.50"
        assert data["revenue_12m"] == "0.00"
        assert data["latest_band"] is None
        customer = Customer.objects.get(external_id="CRM-1")
        assert (customer.account_manager, customer.cost_to_serve, customer.is_active) == (
            manager, Decimal("1200.50"), False,
        )

    def test_it_takes_the_customers_time_zone_and_names_a_wrong_one(self, api):
        response = api.post(URL, body(time_zone="America/New_York"), format="json")
        assert response.status_code == 201 and response.json()["time_zone"] == "America/New_York"
        assert Customer.objects.get().time_zone == "America/New_York"

        wrong = api.post(URL, body(external_id="CRM-2", time_zone="Mars/Olympus"), format="json")
        assert wrong.status_code == 400
        assert list(wrong.json()) == ["time_zone"]

    def test_optional_fields_take_their_defaults(self, api):
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        assert {key: response.json()[key] for key in ("account_manager", "cost_to_serve", "is_active")} == {
            "account_manager": None, "cost_to_serve": None, "is_active": True,
        }

    def test_it_accepts_a_null_account_manager(self, api):
        response = api.post(URL, body(account_manager=None), format="json")
        assert response.status_code == 201
        assert Customer.objects.get().account_manager is None

    def test_it_rejects_an_unknown_account_manager(self, api):
        response = api.post(URL, body(account_manager="ghost"), format="json")
        assert response.status_code == 400
        assert response.json() == {"account_manager": ['No active user with username "ghost".']}
        assert not Customer.objects.exists()

    def test_it_rejects_an_inactive_account_manager(self, api):
        ApiUserFactory(username="gone", is_active=False)
        response = api.post(URL, body(account_manager="gone"), format="json")
        assert response.status_code == 400
        assert "account_manager" in response.json()

    def test_it_rejects_a_duplicate_external_id(self, api):
        CustomerFactory(external_id="CRM-1", name="First")
        response = api.post(URL, body(name="Second"), format="json")
        assert response.status_code == 400
        assert response.json() == {"external_id": ["A customer with this external ID already exists."]}
        assert Customer.objects.get().name == "First"

    def test_it_names_every_missing_required_field(self, api):
        response = api.post(URL, {}, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "external_id": ["This field is required."], "name": ["This field is required."],
        }

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("name", ["Acme"], "Not a valid string."),
            ("name", True, "Not a valid string."),
            ("external_id", {"id": 1}, "Not a valid string."),
            ("is_active", "perhaps", "Must be a valid boolean."),
            ("cost_to_serve", "a lot", "A valid number is required."),
            ("cost_to_serve", "-0.01", "Ensure this value is greater than or equal to 0."),
            ("cost_to_serve", "10.001", "Ensure that there are no more than 2 decimal places."),
            ("cost_to_serve", "NaN", "A valid number is required."),
            ("account_manager", 12, 'No active user with username "12".'),
            ("name", "", "This field may not be blank."),
            ("name", "x" * 201, "Ensure this field has no more than 200 characters."),
            ("external_id", "x" * 101, "Ensure this field has no more than 100 characters."),
        ],
    )
    def test_it_rejects_a_bad_value(self, api, field, value, message):
        response = api.post(URL, body(**{field: value}), format="json")
        assert response.status_code == 400
        assert response.json() == {field: [message]}
        assert not Customer.objects.exists()

    @pytest.mark.parametrize(
        "name",
        ["Acme\r\nBcc: victim@example.com", "Acme\nCorp", "Acme\rCorp", "Acme\tCorp", "Acme\x00", "Acme\u2028Corp", "Acme\n"],
    )
    def test_it_rejects_a_name_with_a_line_break_or_another_control_character(self, api, name):
        response = api.post(URL, body(name=name), format="json")
        assert response.status_code == 400
        assert "control characters" in response.json()["name"][0]
        assert not Customer.objects.exists()

    @pytest.mark.parametrize("external_id", ["CRM\n1", "CRM/1"])
    def test_it_rejects_an_external_id_that_cannot_be_one_url_segment(self, api, external_id):
        response = api.post(URL, body(external_id=external_id), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["external_id"]

    def test_it_trims_spaces_around_names(self, api):
        api.post(URL, body(name="  Acme  "), format="json")
        assert Customer.objects.get().name == "Acme"

    def test_it_accepts_json_only(self, api):
        response = api.post(URL, body(), format="multipart")
        assert response.status_code == 415

    def test_a_new_customer_gets_its_tier_once_committed(self, api, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        # Active and without revenue: the last tier.
        assert Customer.objects.get().tier == 4


class TestReadCustomers:
    @pytest.mark.parametrize("external_id", ["acme.eu-01", "ACME 7", "a+b@c", "v1.2.3", "Ñandú"])
    def test_it_reads_a_customer_by_any_external_id_without_a_slash(self, api, external_id):
        CustomerFactory(external_id=external_id)
        response = api.get(detail(external_id))
        assert response.status_code == 200
        assert response.json()["external_id"] == external_id

    def test_an_unknown_external_id_is_404(self, api):
        assert api.get(detail("nope")).status_code == 404

    def test_it_shows_the_latest_answer_and_money_as_decimal_strings(self, api):
        CustomerFactory(
            external_id="C", latest_score=4, latest_band=Band.AT_RISK, revenue_12m=Decimal("1234.5"),
            net_value=Decimal("-10"), cost_to_serve=Decimal("1244.50"),
        )
        data = api.get(detail("C")).json()
        assert (data["latest_score"], data["latest_band"]) == (4, "at_risk")
        assert (data["revenue_12m"], data["net_value"], data["cost_to_serve"]) == ("1234.50", "-10.00", "1244.50")

    def test_it_shows_the_average_days_late_as_of_today(self, api):
        today = timezone.localdate()
        customer = CustomerFactory(external_id="C")
        # 20 days late today, computed a week ago when it was 13.
        InvoiceFactory(customer=customer, issued_on=today - timedelta(days=50), due_on=today - timedelta(days=20),
                       paid_on=None)
        recompute_value_metrics(as_of=today - timedelta(days=7))
        data = api.get(detail("C")).json()
        assert (data["on_time_rate"], data["avg_days_late"]) == (0.0, 20.0)

    def test_it_lists_customers_a_page_at_a_time(self, api):
        CustomerFactory.create_batch(3)
        data = api.get(URL).json()
        assert data["count"] == 3
        assert len(data["results"]) == 3
        assert {"next", "previous"} <= data.keys()

    def test_it_filters_by_tier_activity_and_account_manager(self, api, manager):
        CustomerFactory(external_id="T1", tier=1, account_manager=manager)
        CustomerFactory(external_id="T2", tier=2)
        CustomerFactory(external_id="OFF", is_active=False)

        def ids(query: str) -> set[str]:
            response = api.get(f"{URL}?{query}")
            assert response.status_code == 200
            return {row["external_id"] for row in response.json()["results"]}

        assert ids("tier=1") == {"T1"}
        assert ids("is_active=false") == {"OFF"}
        assert ids("account_manager=ana") == {"T1"}
        assert ids("account_manager=ghost") == set()

    def test_it_rejects_an_unknown_tier_filter(self, api):
        response = api.get(f"{URL}?tier=9")
        assert response.status_code == 400
        assert "tier" in response.json()

    @pytest.mark.parametrize("customers", [2, 20])
    def test_the_list_takes_the_same_queries_however_many_customers(
        self, api, customers, django_assert_num_queries
    ):
        for n in range(customers):
            CustomerFactory(account_manager=ApiUserFactory())
        # Token lookup, the token owner's other tokens, count, page (managers joined).
        with django_assert_num_queries(4):
            response = api.get(URL)
        assert len(response.json()["results"]) == customers


class TestPutCustomer:
    def test_it_creates_a_missing_customer_with_201(self, api):
        response = api.put(detail("acme.eu"), body(external_id="acme.eu"), format="json")
        assert response.status_code == 201
        assert Customer.objects.get().external_id == "acme.eu"

    def test_it_replaces_an_existing_customer_with_200(self, api, manager):
        CustomerFactory(external_id="CRM-1", name="Old", account_manager=manager, cost_to_serve=Decimal("5"))
        response = api.put(detail("CRM-1"), body(name="New"), format="json")
        assert response.status_code == 200
        customer = Customer.objects.get()
        # What the body leaves out takes its default: a replacement, not a merge.
        assert (customer.name, customer.account_manager, customer.cost_to_serve) == ("New", None, None)

    def test_it_rejects_a_body_naming_another_customer(self, api):
        response = api.put(detail("CRM-1"), body(external_id="CRM-2"), format="json")
        assert response.status_code == 400
        assert response.json() == {"external_id": ['Must match the external ID in the URL ("CRM-1").']}
        assert not Customer.objects.exists()

    def test_it_rejects_a_line_break_in_the_url(self, api):
        response = api.put(detail("CRM\n1"), body(external_id="CRM\n1"), format="json")
        assert response.status_code == 400
        assert not Customer.objects.exists()

    def test_it_validates_like_a_create(self, api):
        response = api.put(detail("CRM-1"), body(cost_to_serve="-1"), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["cost_to_serve"]


class TestPatchCustomer:
    def test_it_changes_only_the_fields_given(self, api, manager):
        CustomerFactory(external_id="CRM-1", name="Acme", account_manager=manager, cost_to_serve=Decimal("5"))
        response = api.patch(detail("CRM-1"), {"name": "Acme Ltd"}, format="json")
        assert response.status_code == 200
        customer = Customer.objects.get()
        assert (customer.name, customer.account_manager, customer.cost_to_serve) == ("Acme Ltd", manager, Decimal("5"))

    def test_it_can_clear_the_account_manager(self, api, manager):
        CustomerFactory(external_id="CRM-1", account_manager=manager)
        response = api.patch(detail("CRM-1"), {"account_manager": None}, format="json")
        assert response.status_code == 200
        assert response.json()["account_manager"] is None

    def test_a_missing_customer_is_404(self, api):
        assert api.patch(detail("nope"), {"name": "X"}, format="json").status_code == 404

    def test_it_rejects_a_bad_value(self, api):
        CustomerFactory(external_id="CRM-1", name="Acme")
        response = api.patch(detail("CRM-1"), {"name": "A\r\nB"}, format="json")
        assert response.status_code == 400
        assert Customer.objects.get().name == "Acme"

    def test_deactivating_a_customer_clears_its_tier_once_committed(self, api, django_capture_on_commit_callbacks):
        customer = CustomerFactory(external_id="CRM-1")
        InvoiceFactory(customer=customer)
        recompute_value_metrics()
        assert Customer.objects.get().tier == 1
        with django_capture_on_commit_callbacks(execute=True):
            api.patch(detail("CRM-1"), {"is_active": False}, format="json")
        assert Customer.objects.get().tier is None

    def test_a_change_that_cannot_move_tiers_queues_no_recompute(self, api, django_capture_on_commit_callbacks):
        CustomerFactory(external_id="CRM-1", name="Acme")
        with django_capture_on_commit_callbacks() as callbacks:
            api.patch(detail("CRM-1"), {"name": "Acme Ltd"}, format="json")
        assert callbacks == []

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers.models import Contact, Customer
from surveys.models import NO_DEFAULT_SURVEY, Delivery, Invitation, InvitationStatus, Survey
from tests.customers.api.bulk import insert_statements
from tests.support.concurrency import run_at_once
from tests.factories import (
    ApiStaffFactory,
    ContactFactory,
    CustomerFactory,
    DeliveryFactory,
    InvitationFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/deliveries/"
BULK_URL = "/api/v1/deliveries/bulk/"

# 09:00 UTC; the default survey's send delay is one hour.
DELIVERED_AT = "2026-11-22T10:00:00+01:00"
DUE = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def customer() -> Customer:
    return CustomerFactory(external_id="CRM-1")


def body(**overrides) -> dict:
    return {
        "customer": "CRM-1",
        "reference": "ORDER-1",
        "delivered_at": DELIVERED_AT,
        "contact_email": "ana@example.com",
        "contact_name": "Ana",
        "description": "your kitchen installation",
        **overrides,
    }


def without(field: str) -> dict:
    data = body()
    del data[field]
    return data


def rows(count: int, **overrides) -> list[dict]:
    return [body(reference=f"ORDER-{n}", contact_email=f"contact{n}@example.com", **overrides) for n in range(count)]


def invitation_of(response) -> dict:
    invitation = response.json()["invitation"]
    return {**invitation, "scheduled_for": parse_datetime(invitation["scheduled_for"])}


def surveyed(contact: Contact, *, due: datetime, **fields) -> Invitation:
    """Another delivery's invitation to `contact`, due at `due` (sent, unless told)."""
    delivery = DeliveryFactory(customer=contact.customer, contact=contact, delivered_at=due - timedelta(hours=1))
    return InvitationFactory(**{"status": InvitationStatus.SENT, **fields}, delivery=delivery, scheduled_for=due)


def assert_nothing_written() -> None:
    assert not Delivery.objects.exists()
    assert not Invitation.objects.exists()
    assert not Contact.objects.exists()


class TestPostDelivery:
    def test_it_records_the_delivery_and_schedules_its_invitation_with_201(self, api, customer):
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201, response.json()
        assert response.json() == {
            "customer": "CRM-1",
            "reference": "ORDER-1",
            "delivered_at": "2026-11-22T09:00:00Z",
            "contact_email": "ana@example.com",
            "contact_name": "Ana",
            "survey": "post-delivery",
            "description": "your kitchen installation",
            "invitation": {"status": "scheduled", "scheduled_for": "2026-11-22T10:00:00Z", "suppressed_reason": None},
        }
        delivery = Delivery.objects.select_related("invitation").get()
        assert (delivery.customer, delivery.reference) == (customer, "ORDER-1")
        assert delivery.delivered_at == DUE - timedelta(hours=1)
        assert (delivery.invitation.status, delivery.invitation.scheduled_for) == (InvitationStatus.SCHEDULED, DUE)
        assert delivery.invitation.next_attempt_at == DUE

    def test_the_invitation_is_due_one_hour_after_delivered_at_whatever_the_offset(self, api, customer):
        response = api.post(URL, body(delivered_at="2026-11-22T04:00:00-05:00"), format="json")
        assert invitation_of(response)["scheduled_for"] == DUE

    def test_it_creates_the_contact_from_its_email_and_name(self, api, customer):
        api.post(URL, body(contact_email="Ana.Lopez@EXAMPLE.com", contact_name="Ana López"), format="json")
        contact = Contact.objects.get()
        assert (contact.customer, contact.email, contact.name) == (customer, "Ana.Lopez@example.com", "Ana López")
        assert Delivery.objects.get().contact == contact
        assert Invitation.objects.get().contact == contact

    def test_it_uses_the_customers_contact_with_that_email_in_any_case_and_renames_it(self, api, customer):
        contact = ContactFactory(customer=customer, email="Ana@Example.com", name="A. Lopez")
        response = api.post(URL, body(contact_email="ana@example.com", contact_name="Ana López"), format="json")
        assert response.status_code == 201
        assert Contact.objects.get() == contact
        contact.refresh_from_db()
        assert (contact.email, contact.name) == ("Ana@Example.com", "Ana López")

    def test_a_contact_name_left_out_keeps_the_stored_one(self, api, customer):
        ContactFactory(customer=customer, email="ana@example.com", name="Ana López")
        response = api.post(URL, without("contact_name"), format="json")
        assert response.status_code == 201
        assert response.json()["contact_name"] == "Ana López"

    def test_a_new_contact_without_a_name_has_an_empty_one(self, api, customer):
        response = api.post(URL, without("contact_name"), format="json")
        assert response.status_code == 201
        assert Contact.objects.get().name == ""

    def test_the_same_email_at_another_customer_is_another_contact(self, api, customer):
        ContactFactory(customer=CustomerFactory(), email="ana@example.com")
        api.post(URL, body(), format="json")
        assert Delivery.objects.get().contact.customer == customer
        assert Contact.objects.count() == 2

    def test_the_survey_is_the_default_one_when_left_out(self, api, customer):
        response = api.post(URL, body(), format="json")
        assert response.json()["survey"] == "post-delivery"
        assert Delivery.objects.get().survey == Survey.default()

    def test_it_uses_the_survey_named_by_its_slug_with_that_surveys_send_delay(self, api, customer):
        survey = SurveyFactory(slug="nps", send_delay=timedelta(hours=3))
        response = api.post(URL, body(survey="nps"), format="json")
        assert response.status_code == 201
        assert response.json()["survey"] == "nps"
        assert invitation_of(response)["scheduled_for"] == DUE + timedelta(hours=2)
        assert Delivery.objects.get().survey == survey

    @pytest.mark.parametrize("slug", ["no-such-survey", "retired"])
    def test_it_rejects_an_unknown_or_inactive_survey(self, api, customer, slug):
        SurveyFactory(slug="retired", is_active=False)
        response = api.post(URL, body(survey=slug), format="json")
        assert response.status_code == 400
        assert response.json() == {"survey": [f'No active survey with slug "{slug}".']}
        assert_nothing_written()

    def test_the_description_is_optional(self, api, customer):
        response = api.post(URL, without("description"), format="json")
        assert response.status_code == 201
        assert response.json()["description"] == ""

    def test_it_records_in_a_few_queries(self, api, customer, django_assert_num_queries):
        # Token and the owner's other tokens; customer; savepoint; customer lock;
        ContentType.objects.get_for_model(Contact)  # cached by a running server
        # existing delivery; contact; default survey; throttle; three inserts (contact,
        # delivery, invitation); the new contact's audit entry; savepoint release.
        with django_assert_num_queries(14):
            response = api.post(URL, body(), format="json")
        assert response.status_code == 201


class TestRepeatedDelivery:
    """Customer + reference identify a delivery: a repeat answers with it and schedules nothing."""

    def test_a_repeat_answers_200_with_the_existing_delivery(self, api, customer):
        first = api.post(URL, body(), format="json")
        repeat = api.post(URL, body(), format="json")
        assert (first.status_code, repeat.status_code) == (201, 200)
        assert repeat.json() == first.json()
        assert Delivery.objects.count() == 1
        assert Invitation.objects.count() == 1

    def test_a_repeat_with_other_fields_changes_nothing(self, api, customer):
        first = api.post(URL, body(), format="json")
        SurveyFactory(slug="nps")
        repeat = api.post(
            URL,
            body(
                delivered_at="2026-12-01T10:00:00+01:00",
                contact_email="bea@example.com",
                contact_name="Bea",
                survey="nps",
                description="something else",
            ),
            format="json",
        )
        assert repeat.status_code == 200
        assert repeat.json() == first.json()
        assert Invitation.objects.count() == 1
        assert list(Contact.objects.values_list("email", "name")) == [("ana@example.com", "Ana")]

    def test_a_repeat_does_not_rename_the_contact(self, api, customer):
        api.post(URL, body(), format="json")
        api.post(URL, body(contact_name="Somebody Else"), format="json")
        assert Contact.objects.get().name == "Ana"

    def test_a_repeat_of_a_delivery_recorded_elsewhere_answers_with_its_invitation(self, api, customer):
        delivery = DeliveryFactory(customer=customer, reference="ORDER-1")
        InvitationFactory(delivery=delivery, status=InvitationStatus.SENT, scheduled_for=DUE)
        response = api.post(URL, body(), format="json")
        assert response.status_code == 200
        assert response.json()["contact_email"] == delivery.contact.email
        assert invitation_of(response) == {"status": "sent", "scheduled_for": DUE, "suppressed_reason": None}
        assert Invitation.objects.count() == 1

    def test_a_repeat_is_answered_in_a_few_queries(self, api, customer, django_assert_num_queries):
        api.post(URL, body(), format="json")
        # Token and the owner's other tokens; customer; savepoint; customer lock; the
        # delivery with its contact, survey and invitation; savepoint release.
        with django_assert_num_queries(7):
            response = api.post(URL, body(), format="json")
        assert response.status_code == 200

    def test_the_same_reference_at_another_customer_is_another_delivery(self, api, customer):
        CustomerFactory(external_id="CRM-2")
        api.post(URL, body(), format="json")
        response = api.post(URL, body(customer="CRM-2"), format="json")
        assert response.status_code == 201
        assert Delivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
class TestSimultaneousRequests:
    """Two integrations (or one retrying) post the same delivery at the same moment."""

    @staticmethod
    def post_together(url: str, payload, clients: int = 2) -> list:
        token = AuthToken.objects.create(user=ApiStaffFactory())[1]

        def post():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            return client.post(url, payload, format="json")

        outcomes = run_at_once(*[post] * clients)
        # The test client raises what the view raised (an IntegrityError would be a 500).
        assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
        assert len(outcomes) == clients
        return outcomes

    def test_two_identical_posts_make_one_delivery_one_201_and_one_200(self):
        CustomerFactory(external_id="CRM-1")
        existing, created = sorted(self.post_together(URL, body()), key=lambda response: response.status_code)
        assert (existing.status_code, created.status_code) == (200, 201)
        assert existing.json() == created.json()
        assert Delivery.objects.count() == 1
        assert Invitation.objects.count() == 1
        assert Contact.objects.count() == 1

    def test_two_identical_bulks_create_once_and_find_the_rows_existing_once(self):
        CustomerFactory(external_id="CRM-1")
        outcomes = self.post_together(BULK_URL, rows(20))
        assert sorted(response.json()["created"] for response in outcomes) == [0, 20]
        assert sorted(response.json()["existing"] for response in outcomes) == [0, 20]
        assert Delivery.objects.count() == 20
        assert Invitation.objects.count() == 20


class TestSuppression:
    """The answer tells at once whether the survey will go out, and if not, why."""

    def test_an_opted_out_contact_is_not_surveyed(self, api, customer):
        ContactFactory(customer=customer, email="ana@example.com", opted_out=True)
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        assert invitation_of(response) == {
            "status": "suppressed", "scheduled_for": DUE, "suppressed_reason": "opted_out",
        }
        assert Invitation.objects.get().next_attempt_at is None

    def test_an_inactive_customers_contact_is_not_surveyed(self, api):
        CustomerFactory(external_id="CRM-1", is_active=False)
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        assert invitation_of(response)["suppressed_reason"] == "inactive_customer"
        assert invitation_of(response)["status"] == "suppressed"

    def test_a_contact_surveyed_ten_days_before_is_throttled(self, api, customer):
        surveyed(ContactFactory(customer=customer, email="ana@example.com"), due=DUE - timedelta(days=10))
        response = api.post(URL, body(), format="json")
        assert invitation_of(response) == {
            "status": "suppressed", "scheduled_for": DUE, "suppressed_reason": "throttled",
        }

    def test_a_contact_with_a_survey_scheduled_ten_days_later_is_throttled(self, api, customer):
        contact = ContactFactory(customer=customer, email="ana@example.com")
        surveyed(contact, due=DUE + timedelta(days=10), status=InvitationStatus.SCHEDULED)
        response = api.post(URL, body(), format="json")
        assert invitation_of(response)["suppressed_reason"] == "throttled"

    def test_a_contact_surveyed_exactly_thirty_days_before_is_surveyed_again(self, api, customer):
        surveyed(ContactFactory(customer=customer, email="ana@example.com"), due=DUE - timedelta(days=30))
        response = api.post(URL, body(), format="json")
        assert invitation_of(response) == {"status": "scheduled", "scheduled_for": DUE, "suppressed_reason": None}

    def test_a_contact_surveyed_a_second_less_than_thirty_days_before_is_throttled(self, api, customer):
        contact = ContactFactory(customer=customer, email="ana@example.com")
        surveyed(contact, due=DUE - timedelta(days=30) + timedelta(seconds=1))
        response = api.post(URL, body(), format="json")
        assert invitation_of(response)["suppressed_reason"] == "throttled"

    def test_an_earlier_suppressed_invitation_does_not_count_as_surveyed(self, api, customer):
        contact = ContactFactory(customer=customer, email="ana@example.com")
        surveyed(
            contact,
            due=DUE - timedelta(days=10),
            status=InvitationStatus.SUPPRESSED,
            suppressed_reason="throttled",
            next_attempt_at=None,
        )
        response = api.post(URL, body(), format="json")
        assert invitation_of(response)["status"] == "scheduled"

    def test_another_contact_of_the_customer_surveyed_recently_does_not_throttle(self, api, customer):
        surveyed(ContactFactory(customer=customer, email="bea@example.com"), due=DUE - timedelta(days=10))
        response = api.post(URL, body(), format="json")
        assert invitation_of(response)["status"] == "scheduled"

    def test_a_delivery_in_the_future_is_surveyed_after_it(self, api, customer):
        delivered_at = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
        response = api.post(URL, body(delivered_at=delivered_at.isoformat()), format="json")
        assert response.status_code == 201
        invitation = invitation_of(response)
        assert invitation == {
            "status": "scheduled", "scheduled_for": delivered_at + timedelta(hours=1), "suppressed_reason": None,
        }
        assert invitation["scheduled_for"] > timezone.now()


class TestInvalidDelivery:
    """Bad input is a 400 naming the field, and nothing is written."""

    @pytest.mark.parametrize("field", ["customer", "reference", "delivered_at", "contact_email"])
    def test_each_required_field_is_named_when_missing(self, api, customer, field):
        response = api.post(URL, without(field), format="json")
        assert response.status_code == 400
        assert response.json() == {field: ["This field is required."]}
        assert_nothing_written()

    def test_no_survey_named_and_none_marked_default_is_a_400_naming_survey(self, api, customer):
        Survey.objects.update(is_default=False)
        response = api.post(URL, body(), format="json")
        assert response.status_code == 400
        assert response.json() == {"survey": [NO_DEFAULT_SURVEY]}
        assert_nothing_written()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("reference", 12345),
            ("reference", ["ORDER-1"]),
            ("reference", True),
            ("contact_name", 7),
            ("description", 1.5),
            ("delivered_at", "yesterday"),
            ("delivered_at", 1795338000),
            ("delivered_at", "2026-02-30T10:00:00+01:00"),
            ("delivered_at", "2026-13-01T10:00:00Z"),
            ("contact_email", 42),
            ("survey", {"slug": "post-delivery"}),
            ("customer", ["CRM-1"]),
        ],
    )
    def test_it_rejects_a_value_of_the_wrong_type(self, api, customer, field, value):
        response = api.post(URL, body(**{field: value}), format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert_nothing_written()

    @pytest.mark.parametrize("field", ["customer", "reference", "delivered_at", "contact_email", "survey"])
    def test_it_rejects_a_null(self, api, customer, field):
        response = api.post(URL, body(**{field: None}), format="json")
        assert response.status_code == 400
        assert response.json() == {field: ["This field may not be null."]}

    @pytest.mark.parametrize("field", ["customer", "reference", "contact_email"])
    def test_it_rejects_a_blank(self, api, customer, field):
        response = api.post(URL, body(**{field: "  "}), format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field]

    @pytest.mark.parametrize("payload", [[body()], "ORDER-1"])
    def test_it_rejects_a_body_that_is_not_an_object(self, api, customer, payload):
        response = api.post(URL, payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["non_field_errors"]
        assert_nothing_written()

    def test_it_rejects_malformed_json(self, api, customer):
        response = api.post(URL, '{"customer": "CRM-1",', content_type="application/json")
        assert response.status_code == 400
        assert_nothing_written()

    @pytest.mark.parametrize("delivered_at", ["2026-11-22T10:00:00", "2026-11-22 10:00", "2026-11-22"])
    def test_it_rejects_a_datetime_without_an_offset(self, api, customer, delivered_at):
        response = api.post(URL, body(delivered_at=delivered_at), format="json")
        assert response.status_code == 400
        (message,) = response.json()["delivered_at"]
        assert "offset" in message
        assert_nothing_written()

    @pytest.mark.parametrize(
        "delivered_at", ["9999-12-31T23:30:00Z", "3000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z"]
    )
    def test_it_rejects_a_datetime_too_far_off_to_schedule(self, api, customer, delivered_at):
        response = api.post(URL, body(delivered_at=delivered_at), format="json")
        assert response.status_code == 400
        assert response.json() == {"delivered_at": ["Must be between 1900 and 2999."]}
        assert_nothing_written()

    def test_it_rejects_an_unknown_customer_and_creates_none(self, api, customer):
        response = api.post(URL, body(customer="CRM-404"), format="json")
        assert response.status_code == 400
        assert response.json() == {"customer": ['No customer with external ID "CRM-404".']}
        assert list(Customer.objects.values_list("external_id", flat=True)) == ["CRM-1"]
        assert_nothing_written()

    @pytest.mark.parametrize("email", ["not-an-email", "ana@", "@example.com", "ana@example", "a b@example.com"])
    def test_it_rejects_a_bad_email(self, api, customer, email):
        response = api.post(URL, body(contact_email=email), format="json")
        assert response.status_code == 400
        assert response.json() == {"contact_email": ["Enter a valid email address."]}
        assert_nothing_written()

    @pytest.mark.parametrize(
        "field", ["reference", "contact_name", "description", "contact_email", "customer", "survey"]
    )
    @pytest.mark.parametrize("control", ["\r\n", "\n", "\t", "\x00", "\u2028"])
    def test_it_rejects_control_characters(self, api, customer, field, control):
        value = f"{body(survey='post-delivery')[field]}{control}Bcc: x@example.com"
        response = api.post(URL, body(**{field: value}), format="json")
        assert response.status_code == 400
        (message,) = response.json()[field]
        assert "control characters" in message
        assert_nothing_written()

    def test_it_rejects_a_trailing_line_break_rather_than_trimming_it(self, api, customer):
        response = api.post(URL, body(reference="ORDER-1\n"), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["reference"]

    @pytest.mark.parametrize(("field", "limit"), [("reference", 100), ("description", 200), ("contact_name", 200)])
    def test_it_rejects_a_value_longer_than_its_column(self, api, customer, field, limit):
        response = api.post(URL, body(**{field: "x" * (limit + 1)}), format="json")
        assert response.status_code == 400
        assert response.json() == {field: [f"Ensure this field has no more than {limit} characters."]}
        assert_nothing_written()

    def test_it_accepts_values_as_long_as_their_columns(self, api, customer):
        response = api.post(
            URL, body(reference="r" * 100, description="d" * 200, contact_name="n" * 200), format="json"
        )
        assert response.status_code == 201
        delivery = Delivery.objects.select_related("contact").get()
        assert (len(delivery.reference), len(delivery.description), len(delivery.contact.name)) == (100, 200, 200)


class TestBulkDeliveries:
    def test_it_records_every_row_and_answers_with_counts(self, api, customer):
        response = api.post(BULK_URL, rows(3), format="json")
        assert response.status_code == 200, response.json()
        assert response.json() == {"created": 3, "existing": 0}
        assert sorted(Delivery.objects.values_list("reference", flat=True)) == ["ORDER-0", "ORDER-1", "ORDER-2"]
        assert set(Invitation.objects.values_list("status", "scheduled_for")) == {(InvitationStatus.SCHEDULED, DUE)}
        assert Contact.objects.count() == 3

    def test_rows_naming_no_survey_when_none_is_marked_default_are_named(self, api, customer):
        Survey.objects.update(is_default=False)
        SurveyFactory(slug="nps")
        response = api.post(BULK_URL, [*rows(2), {**body(reference="ORDER-9"), "survey": "nps"}], format="json")
        assert response.status_code == 400
        assert response.json() == {"0": {"survey": [NO_DEFAULT_SURVEY]}, "1": {"survey": [NO_DEFAULT_SURVEY]}}
        assert_nothing_written()

    def test_rows_recorded_before_count_as_existing_and_stay_unchanged(self, api, customer):
        api.post(URL, body(reference="ORDER-1", description="first"), format="json")
        response = api.post(BULK_URL, rows(3, description="second"), format="json")
        assert response.json() == {"created": 2, "existing": 1}
        assert Delivery.objects.get(reference="ORDER-1").description == "first"
        assert Delivery.objects.get(reference="ORDER-1").contact.email == "ana@example.com"
        assert Invitation.objects.count() == 3

    def test_a_repeated_bulk_creates_nothing(self, api, customer):
        api.post(BULK_URL, rows(5), format="json")
        response = api.post(BULK_URL, rows(5), format="json")
        assert response.json() == {"created": 0, "existing": 5}
        assert Invitation.objects.count() == 5

    def test_rows_name_their_survey_or_take_the_default(self, api, customer):
        SurveyFactory(slug="nps")
        payload = rows(2)
        payload[1]["survey"] = "nps"
        api.post(BULK_URL, payload, format="json")
        assert dict(Delivery.objects.values_list("reference", "survey__slug")) == {
            "ORDER-0": "post-delivery", "ORDER-1": "nps",
        }

    def test_rows_suppress_like_single_deliveries(self, api, customer):
        CustomerFactory(external_id="CRM-OFF", is_active=False)
        ContactFactory(customer=customer, email="out@example.com", opted_out=True)
        payload = rows(3)
        payload[0]["contact_email"] = "out@example.com"
        payload[1]["customer"] = "CRM-OFF"
        api.post(BULK_URL, payload, format="json")
        assert dict(Invitation.objects.values_list("delivery__reference", "suppressed_reason")) == {
            "ORDER-0": "opted_out", "ORDER-1": "inactive_customer", "ORDER-2": "",
        }

    def test_of_two_rows_to_one_contact_inside_the_window_the_later_is_throttled(self, api, customer):
        payload = [
            body(reference="LATER", delivered_at="2026-12-02T10:00:00+01:00"),
            body(reference="EARLIER"),
        ]
        api.post(BULK_URL, payload, format="json")
        assert dict(Invitation.objects.values_list("delivery__reference", "status")) == {
            "EARLIER": InvitationStatus.SCHEDULED, "LATER": InvitationStatus.SUPPRESSED,
        }

    def test_an_empty_list_writes_nothing(self, api, customer):
        response = api.post(BULK_URL, [], format="json")
        assert response.json() == {"created": 0, "existing": 0}

    def test_one_bad_row_is_named_and_nothing_is_written(self, api, customer):
        payload = rows(5)
        payload[3]["delivered_at"] = "2026-11-22T10:00:00"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["3"]
        assert list(response.json()["3"]) == ["delivered_at"]
        assert "offset" in response.json()["3"]["delivered_at"][0]
        assert_nothing_written()

    def test_it_names_every_bad_row_and_field(self, api, customer):
        payload = rows(5)
        del payload[0]["reference"]
        payload[1]["contact_email"] = "not-an-email"
        payload[2]["description"] = "line\r\nbreak"
        payload[4]["reference"] = 4
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert set(errors) == {"0", "1", "2", "4"}
        assert errors["0"] == {"reference": ["This field is required."]}
        assert errors["1"] == {"contact_email": ["Enter a valid email address."]}
        assert list(errors["2"]) == ["description"]
        assert list(errors["4"]) == ["reference"]
        assert_nothing_written()

    def test_an_unknown_customer_is_named_with_its_row_and_none_is_created(self, api, customer):
        payload = rows(3)
        payload[1]["customer"] = "CRM-404"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"1": {"customer": ['No customer with external ID "CRM-404".']}}
        assert list(Customer.objects.values_list("external_id", flat=True)) == ["CRM-1"]
        assert_nothing_written()

    @pytest.mark.parametrize("slug", ["no-such-survey", "retired"])
    def test_an_unknown_or_inactive_survey_is_named_with_its_row(self, api, customer, slug):
        SurveyFactory(slug="retired", is_active=False)
        payload = rows(3)
        payload[2]["survey"] = slug
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"2": {"survey": [f'No active survey with slug "{slug}".']}}
        assert_nothing_written()

    def test_a_repeated_reference_is_named_with_the_later_row(self, api, customer):
        payload = rows(3)
        payload[2]["reference"] = "ORDER-0"
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "2": {"reference": ["Repeats row 0: each reference may appear once per customer and request."]}
        }
        assert_nothing_written()

    def test_the_same_reference_at_two_customers_is_two_deliveries(self, api, customer):
        CustomerFactory(external_id="CRM-2")
        response = api.post(BULK_URL, [body(), body(customer="CRM-2")], format="json")
        assert response.json() == {"created": 2, "existing": 0}

    def test_it_accepts_a_thousand_rows(self, api, customer):
        response = api.post(BULK_URL, rows(1000), format="json")
        assert response.json() == {"created": 1000, "existing": 0}
        assert Invitation.objects.count() == 1000

    def test_it_rejects_more_than_a_thousand_rows(self, api, customer):
        response = api.post(BULK_URL, rows(1001), format="json")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["At most 1000 rows per request; split the list into several requests."]
        }
        assert_nothing_written()

    @pytest.mark.parametrize("payload", [body(), "ORDER-1", None])
    def test_it_rejects_a_body_that_is_not_a_list(self, api, customer, payload):
        response = api.post(BULK_URL, payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["non_field_errors"]
        assert_nothing_written()

    def test_it_rejects_a_row_that_is_not_an_object(self, api, customer):
        response = api.post(BULK_URL, [*rows(1), "ORDER-1"], format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["1"]
        assert_nothing_written()

    @pytest.mark.parametrize("count", [10, 500])
    def test_it_writes_in_the_same_few_queries_for_10_or_500_rows(
        self, api, customer, count, django_assert_num_queries
    ):
        CustomerFactory(external_id="CRM-2")
        SurveyFactory(slug="nps")
        ContactFactory(customer=customer, email="contact2@example.com", name="Renamed below")
        api.post(URL, body(reference="ORDER-0", contact_email="contact0@example.com"), format="json")
        payload = [
            row | {"customer": ("CRM-1", "CRM-2")[n % 2]} | ({"survey": "nps"} if n % 3 else {})
            for n, row in enumerate(rows(count))
        ]
        # Two of the rows' contacts exist already (contact0, contact2); the new ones and
        # the renamed one get an audit entry each.
        inserts = (
            insert_statements(Contact, count - 2)
            + sum(insert_statements(model, count - 1) for model in (Delivery, Invitation, LogEntry))
        )
        ContentType.objects.get_for_model(Contact)  # cached by a running server
        # Token and the owner's other tokens; customers; surveys; savepoint; customer
        # locks; existing deliveries; contacts; the renamed contact; default survey;
        # throttle; the inserts (and the new contacts' audit entries); savepoint release.
        with django_assert_num_queries(12 + inserts):
            response = api.post(BULK_URL, payload, format="json")
        assert response.json() == {"created": count - 1, "existing": 1}


class TestPermissions:
    @pytest.mark.parametrize("url", [URL, BULK_URL])
    def test_an_anonymous_post_is_401_with_a_token_challenge(self, customer, url):
        response = APIClient().post(url, body(), format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert_nothing_written()

    @pytest.mark.parametrize("url", [URL, BULK_URL])
    def test_an_expired_token_is_401(self, staff, customer, url):
        _, token = AuthToken.objects.create(user=staff, expiry=timedelta(seconds=-1))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.post(url, body(), format="json").status_code == 401
        assert_nothing_written()

    @pytest.mark.parametrize("url", [URL, BULK_URL])
    def test_a_revoked_token_is_401(self, staff, customer, url):
        instance, token = AuthToken.objects.create(user=staff)
        instance.delete()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.post(url, body(), format="json").status_code == 401
        assert_nothing_written()

    @pytest.mark.parametrize(("url", "payload"), [(URL, body()), (BULK_URL, [body()])])
    def test_an_account_manager_may_not_post_even_for_their_own_customer(self, manager_api, manager, url, payload):
        CustomerFactory(external_id="CRM-1", account_manager=manager)
        response = manager_api.post(url, payload, format="json")
        assert response.status_code == 403
        assert_nothing_written()

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_deliveries_only_take_posts(self, api, method):
        assert getattr(api, method)(URL).status_code == 405


class TestJsonOnly:
    @pytest.mark.parametrize("url", [URL, BULK_URL])
    def test_a_form_encoded_body_is_415(self, api, customer, url):
        response = api.post(url, body(), format="multipart")
        assert response.status_code == 415
        response = api.post(url, "customer=CRM-1&reference=ORDER-1", content_type="application/x-www-form-urlencoded")
        assert response.status_code == 415
        assert_nothing_written()

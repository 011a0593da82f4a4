from __future__ import annotations

import pytest

from customers.models import Contact
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts/"


@pytest.fixture
def customer():
    return CustomerFactory(external_id="CRM-1")


def body(**overrides) -> dict:
    return {"customer": "CRM-1", "email": "ana@example.com", "name": "Ana", "language": "es", **overrides}


class TestPostContact:
    def test_it_creates_a_contact_with_201(self, api, customer):
        response = api.post(URL, body(), format="json")
        assert response.status_code == 201
        assert response.json() == {
            "id": Contact.objects.get().pk, "customer": "CRM-1", "email": "ana@example.com", "name": "Ana",
            "language": "es", "opted_out": False, "erased_at": None,
        }
        assert Contact.objects.get().customer == customer

    def test_name_and_language_are_optional(self, api, customer):
        response = api.post(URL, {"customer": "CRM-1", "email": "ana@example.com"}, format="json")
        assert response.status_code == 201
        assert (response.json()["name"], response.json()["language"]) == ("", "en")

    def test_the_same_email_in_another_case_updates_the_contact_with_200(self, api, customer):
        ContactFactory(customer=customer, email="Ana@Example.com", name="Ana", language="en")
        response = api.post(URL, body(email="ANA@example.COM", name="Ana María"), format="json")
        assert response.status_code == 200
        contact = Contact.objects.get()
        # Stored as last given, domain lower-cased.
        assert (contact.email, contact.name, contact.language) == ("ANA@example.com", "Ana María", "es")

    def test_an_update_keeps_the_name_and_language_it_is_not_given(self, api, customer):
        ContactFactory(customer=customer, email="ana@example.com", name="Ana", language="es")
        response = api.post(URL, {"customer": "CRM-1", "email": "ana@example.com"}, format="json")
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["language"]) == ("Ana", "es")

    def test_an_update_never_changes_the_opt_out(self, api, customer):
        ContactFactory(customer=customer, email="ana@example.com", opted_out=True)
        response = api.post(URL, body(opted_out=False), format="json")
        assert response.status_code == 200
        assert Contact.objects.get().opted_out is True

    def test_the_same_email_at_two_customers_is_two_contacts(self, api, customer):
        ContactFactory(customer=CustomerFactory(), email="ana@example.com")
        assert api.post(URL, body(), format="json").status_code == 201
        assert Contact.objects.count() == 2

    def test_it_lower_cases_the_domain_and_keeps_the_local_part(self, api, customer):
        api.post(URL, body(email="  Ana.Lopez@EXAMPLE.Com "), format="json")
        assert Contact.objects.get().email == "Ana.Lopez@example.com"

    def test_it_rejects_an_unknown_customer_and_creates_none(self, api, customer):
        response = api.post(URL, body(customer="CRM-404"), format="json")
        assert response.status_code == 400
        assert response.json() == {"customer": ['No customer with external ID "CRM-404".']}
        assert not Contact.objects.exists()

    @pytest.mark.parametrize("email", ["not-an-email", "ana@", "@example.com", "ana@example", "a b@example.com"])
    def test_it_rejects_a_bad_email(self, api, customer, email):
        response = api.post(URL, body(email=email), format="json")
        assert response.status_code == 400
        assert response.json() == {"email": ["Enter a valid email address."]}

    @pytest.mark.parametrize("email", ["ana@example.com\r\nBcc: victim@example.com", '"a\x01b"@example.com'])
    def test_it_rejects_an_email_with_control_characters(self, api, customer, email):
        response = api.post(URL, body(email=email), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["email"]
        assert not Contact.objects.exists()

    def test_it_rejects_a_name_with_a_line_break(self, api, customer):
        response = api.post(URL, body(name="Ana\r\nBcc: victim@example.com"), format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["name"]

    def test_it_rejects_an_unknown_language(self, api, customer):
        response = api.post(URL, body(language="fr"), format="json")
        assert response.status_code == 400
        assert response.json() == {"language": ['"fr" is not a valid choice.']}

    def test_it_names_every_missing_required_field(self, api):
        response = api.post(URL, {}, format="json")
        assert response.status_code == 400
        assert response.json() == {"customer": ["This field is required."], "email": ["This field is required."]}


class TestListContacts:
    def test_it_filters_by_customer_external_id(self, api, customer):
        ContactFactory(customer=customer, email="mine@example.com")
        ContactFactory(email="other@example.com")
        response = api.get(f"{URL}?customer=CRM-1")
        assert [row["email"] for row in response.json()["results"]] == ["mine@example.com"]
        assert api.get(URL).json()["count"] == 2

from __future__ import annotations

import pytest

from customers.models import Contact
from customers.services import upsert_contact
from tests.factories import CustomerFactory
from tests.support.concurrency import run_at_once


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_upserts_of_a_new_contact_make_one_contact_and_no_error():
    customer = CustomerFactory()
    def add(email: str):
        return lambda: upsert_contact(customer=customer, email=email, name="Ada")[1]

    outcomes = run_at_once(add("ada@example.com"), add("ADA@example.com"))

    assert sorted(outcomes, key=str) == [False, True]
    assert Contact.objects.filter(customer=customer).count() == 1

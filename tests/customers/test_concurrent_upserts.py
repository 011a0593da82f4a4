from __future__ import annotations

import threading

import pytest
from django.db import connection

from customers.models import Contact
from customers.services import upsert_contact
from tests.factories import CustomerFactory


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_upserts_of_a_new_contact_make_one_contact_and_no_error():
    customer = CustomerFactory()
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def add_contact(email: str) -> None:
        try:
            start.wait()
            outcomes.append(upsert_contact(customer=customer, email=email, name="Ada")[1])
        except Exception as error:  # collected and asserted below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add_contact, args=(email,)) for email in ("ada@example.com", "ADA@example.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes, key=str) == [False, True]
    assert Contact.objects.filter(customer=customer).count() == 1

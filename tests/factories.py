from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from customers.models import Contact, Customer, Invoice


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"CRM-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    name = factory.Sequence(lambda n: f"Contact {n}")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    amount = Decimal("1000.00")
    issued_on = factory.LazyFunction(lambda: date.today() - timedelta(days=60))
    due_on = factory.LazyAttribute(lambda invoice: invoice.issued_on + timedelta(days=30))
    paid_on = factory.LazyAttribute(lambda invoice: invoice.due_on)


class ApiUserFactory(UserFactory):
    """A user who reaches the API with tokens only. Nothing to hash keeps tests that build
    many users fast."""

    password = "!"  # how Django marks an unusable password


class ApiStaffFactory(ApiUserFactory):
    is_staff = True

from __future__ import annotations

from django_filters import rest_framework as filters

from core.api.filters import BooleanFilter
from customers.models import Contact, Customer, Invoice


class CustomerFilter(filters.FilterSet):
    is_active = BooleanFilter()
    account_manager = filters.CharFilter(
        field_name="account_manager__username", help_text="Username of the account manager."
    )

    class Meta:
        model = Customer
        fields = ["tier", "is_active", "account_manager"]


class ContactFilter(filters.FilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="External ID of the customer.")

    class Meta:
        model = Contact
        fields = ["customer"]


class InvoiceFilter(filters.FilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="External ID of the customer.")

    class Meta:
        model = Invoice
        fields = ["customer"]

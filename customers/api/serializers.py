"""Serializers validate and translate; writes happen in customers.services."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from core.api.bulk import BulkListSerializer, Row, RowErrors, find_repeats
from core.api.fields import ApiModelSerializer, SingleLineCharField, SingleLineSlugRelatedField
from customers import validators
from customers.models import Band, Contact, Customer, Invoice


def customer_reference_field() -> serializers.SlugRelatedField:
    """A customer named by its external ID; an unknown one is a 400 naming `customer`."""
    return SingleLineSlugRelatedField(
        slug_field="external_id",
        queryset=Customer.objects.all(),
        help_text="External ID of the customer.",
        error_messages={"does_not_exist": 'No customer with external ID "{value}".'},
    )


def resolve_customers(rows: list[Row], errors: RowErrors) -> None:
    """Replaces each row's customer external ID with that customer, looked up for all
    rows in one query; an unknown one is an error on the row's `customer`."""
    customers = {
        customer.external_id: customer
        for customer in Customer.objects.filter(external_id__in={row["customer"] for row in rows}).only(
            "pk", "external_id", "is_active"
        )
    }
    for index, row in enumerate(rows):
        if row["customer"] in customers:
            row["customer"] = customers[row["customer"]]
        else:
            errors[index]["customer"] = [f'No customer with external ID "{row["customer"]}".']


# --- Customers

_WRITABLE_CUSTOMER_FIELDS = ["external_id", "name", "account_manager", "cost_to_serve", "is_active", "time_zone"]


class CustomerSerializer(ApiModelSerializer):
    """A customer: what integrators write, plus the value metrics and latest answer
    that ValuePulse derives (read-only)."""

    account_manager = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        allow_null=True,
        required=False,
        help_text="Username of the account manager, or null for none.",
        error_messages={"does_not_exist": 'No active user with username "{value}".'},
    )
    # As of today: a property of the customer, from the parts the recompute keeps.
    avg_days_late = serializers.FloatField(read_only=True, allow_null=True, label="Average days late")
    latest_band = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            *_WRITABLE_CUSTOMER_FIELDS,
            "revenue_12m",
            "on_time_rate",
            "avg_days_late",
            "net_value",
            "tier",
            "latest_score",
            "latest_band",
        ]
        read_only_fields = ["revenue_12m", "on_time_rate", "avg_days_late", "net_value", "tier", "latest_score"]
        extra_kwargs = {
            "external_id": {
                "validators": [
                    validators.validate_external_id,
                    UniqueValidator(
                        queryset=Customer.objects.all(), message="A customer with this external ID already exists."
                    ),
                ],
                "help_text": "The customer's ID in your CRM; any characters but a slash or control characters.",
            },
            "cost_to_serve": {"help_text": "Annual cost to serve, a decimal string, at least 0; null when unknown."},
            "time_zone": {
                "help_text": "Where the customer reads email, an IANA name such as Europe/Madrid (surveys' sending "
                "windows); empty or left out: the server's default."
            },
        }

    @extend_schema_field(serializers.ChoiceField(choices=Band.choices, allow_null=True))
    def get_latest_band(self, customer: Customer) -> str | None:
        return customer.latest_band or None

    def validate_external_id(self, value: str) -> str:
        # PUT and PATCH name the customer in the URL (the view puts it in the context).
        in_url = self.context.get("external_id")
        if in_url is not None and value != in_url:
            raise serializers.ValidationError(f'Must match the external ID in the URL ("{in_url}").')
        return value

    def customer_values(self) -> Row:
        """Everything upsert_customer needs: on PATCH, fields the body leaves out keep
        their current values; on POST and PUT they take their defaults."""
        current = {field: getattr(self.instance, field) for field in _WRITABLE_CUSTOMER_FIELDS} if self.partial else {}
        return {**current, **self.validated_data}


class CustomerBulkSerializer(BulkListSerializer):
    def check_rows(self, rows: list[Row]) -> RowErrors:
        errors: RowErrors = defaultdict(dict)
        for index, first in find_repeats(rows, lambda row: row["external_id"]).items():
            errors[index]["external_id"] = [f"Repeats row {first}: each customer may appear once per request."]
        usernames = {row["account_manager"] for row in rows if row.get("account_manager") is not None}
        users = {user.username: user for user in get_user_model().objects.filter(username__in=usernames, is_active=True)}
        for index, row in enumerate(rows):
            username = row.get("account_manager")
            if username is None:
                continue
            if username in users:
                row["account_manager"] = users[username]
            else:
                errors[index]["account_manager"] = [f'No active user with username "{username}".']
        return errors


class CustomerRowSerializer(CustomerSerializer):
    """One row of customers/bulk/. Usernames are looked up for all rows in one query
    by the list, so here account_manager is only checked as text."""

    account_manager = SingleLineCharField(
        allow_null=True, required=False, max_length=150, help_text="Username of the account manager, or null for none."
    )
    latest_band = None

    class Meta(CustomerSerializer.Meta):
        fields = _WRITABLE_CUSTOMER_FIELDS
        extra_kwargs = {
            **CustomerSerializer.Meta.extra_kwargs,
            # An existing external ID updates that customer, so no uniqueness check.
            "external_id": {
                **CustomerSerializer.Meta.extra_kwargs["external_id"],
                "validators": [validators.validate_external_id],
            },
        }
        list_serializer_class = CustomerBulkSerializer


# --- Contacts


class ContactSerializer(ApiModelSerializer):
    """A contact at a customer. Posting an email the customer already has (in any
    letter case) updates that contact; `name` and `language` left out then keep their
    values. `opted_out` is the contact's own choice and cannot be set here. An erased
    contact keeps its id, with an empty name, a placeholder email
    (`erased-<id>@erased.invalid`, which reaches no one) and `erased_at`."""

    customer = customer_reference_field()

    class Meta:
        model = Contact
        fields = ["id", "customer", "email", "name", "language", "opted_out", "erased_at"]
        read_only_fields = ["id", "opted_out", "erased_at"]
        # The same customer + email is an update, not a conflict.
        validators: list = []
        extra_kwargs = {
            "email": {"help_text": "Stored as given with the domain lower-cased; matched case-insensitively."},
            "erased_at": {"help_text": "When staff erased the contact on request; null while not erased."},
        }


class ContactBulkSerializer(BulkListSerializer):
    def check_rows(self, rows: list[Row]) -> RowErrors:
        errors: RowErrors = defaultdict(dict)
        for index, first in find_repeats(rows, lambda row: (row["customer"], row["email"].lower())).items():
            errors[index]["email"] = [f"Repeats row {first}: each email may appear once per customer and request."]
        resolve_customers(rows, errors)
        return errors


class ContactRowSerializer(ContactSerializer):
    """One row of a list of contacts (the CSV import). Customers are looked up for all
    rows in one query by the list, so here customer is only checked as text."""

    customer = SingleLineCharField(max_length=100, help_text="External ID of the customer.")

    class Meta(ContactSerializer.Meta):
        list_serializer_class = ContactBulkSerializer


# --- Invoices


class InvoiceSerializer(ApiModelSerializer):
    """An invoice, created or updated by customer + number. `paid_on` null or left out
    means unpaid."""

    customer = customer_reference_field()

    class Meta:
        model = Invoice
        fields = ["customer", "number", "amount", "issued_on", "due_on", "paid_on"]
        # The same customer + number is an update, not a conflict.
        validators: list = []
        extra_kwargs = {"amount": {"help_text": "A decimal string, at least 0."}}

    def validate(self, attrs: Row) -> Row:
        if attrs["due_on"] < attrs["issued_on"]:
            raise serializers.ValidationError(
                {"due_on": [f"Must be on or after issued_on ({attrs['issued_on'].isoformat()})."]}
            )
        return attrs


class InvoiceBulkSerializer(BulkListSerializer):
    def check_rows(self, rows: list[Row]) -> RowErrors:
        errors: RowErrors = defaultdict(dict)
        for index, first in find_repeats(rows, lambda row: (row["customer"], row["number"])).items():
            errors[index]["number"] = [
                f"Repeats row {first}: each invoice number may appear once per customer and request."
            ]
        resolve_customers(rows, errors)
        return errors


class InvoiceRowSerializer(InvoiceSerializer):
    """One row of invoices/bulk/. Customers are looked up for all rows in one query by
    the list, so here customer is only checked as text."""

    customer = SingleLineCharField(max_length=100, help_text="External ID of the customer.")

    class Meta(InvoiceSerializer.Meta):
        list_serializer_class = InvoiceBulkSerializer

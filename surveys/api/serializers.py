"""Deliveries in API v1: serializers validate and translate; surveys.services writes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.bulk import BulkListSerializer, Row, RowErrors, find_repeats
from core.api.fields import EmailAddressField, SingleLineCharField, SingleLineSlugRelatedField
from customers.api.serializers import customer_reference_field, resolve_customers
from surveys.models import NO_DEFAULT_SURVEY, Invitation, Response, SuppressedReason, Survey

EARLIEST_DELIVERY = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_DELIVERY = datetime(3000, 1, 1, tzinfo=UTC)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime that must carry its offset: a naive one is ambiguous."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2026-11-22T14:30:00+01:00 or 2026-11-22T13:30:00Z.",
    }

    def to_internal_value(self, value: Any):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well-formed but impossible, like February 30: DRF says "wrong format"
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class TextField(SingleLineCharField):
    """A single line given as a JSON string. DRF would turn a number into text, but an
    order number sent as 00123 arrives as 123: a number here is a mistake, not a value."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def survey_reference_field() -> serializers.SlugRelatedField:
    return SingleLineSlugRelatedField(
        slug_field="slug",
        queryset=Survey.objects.filter(is_active=True),
        required=False,
        help_text="Slug of an active survey; the default survey when left out.",
        error_messages={"does_not_exist": 'No active survey with slug "{value}".'},
    )


class InvitationSummarySerializer(serializers.ModelSerializer):
    suppressed_reason = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["status", "scheduled_for", "suppressed_reason"]

    @extend_schema_field(serializers.ChoiceField(choices=SuppressedReason.choices, allow_null=True))
    def get_suppressed_reason(self, invitation: Invitation) -> str | None:
        return invitation.suppressed_reason or None


class DeliverySerializer(serializers.Serializer):
    """A delivery to survey. Its customer + reference identify it: posting the same pair
    again answers with the delivery already recorded and schedules nothing."""

    customer = customer_reference_field()
    reference = TextField(max_length=100, help_text="Unique per customer, e.g. the order number.")
    delivered_at = AwareDateTimeField(help_text="ISO 8601 with an offset; the survey goes out after the send delay.")
    contact_email = EmailAddressField(
        max_length=254, source="contact.email", help_text="Who is asked; added to the customer's contacts if new."
    )
    contact_name = TextField(
        max_length=200,
        required=False,
        allow_blank=True,
        source="contact.name",
        help_text="Replaces the contact's stored name when given.",
    )
    survey = survey_reference_field()
    description = TextField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text='What was delivered, shown to the respondent ("How satisfied are you with …?").',
    )
    invitation = InvitationSummarySerializer(read_only=True)

    def validate_delivered_at(self, value: datetime) -> datetime:
        # Scheduling adds the send delay and expiry and looks a throttle window either
        # side; near Python's limits (years 1 and 9999) that arithmetic would overflow.
        if not EARLIEST_DELIVERY <= value < LATEST_DELIVERY:
            raise serializers.ValidationError(
                f"Must be between {EARLIEST_DELIVERY:%Y} and {LATEST_DELIVERY.year - 1}."
            )
        return value

    def delivery_values(self) -> Row:
        return self.delivery_values_of(self.validated_data)

    @staticmethod
    def delivery_values_of(validated: Row) -> Row:
        """Validated data flattened into what surveys.services.DeliveryData holds."""
        values = dict(validated)
        contact = values.pop("contact")
        return {**values, "contact_email": contact["email"], "contact_name": contact.get("name")}


class DeliveryBulkSerializer(BulkListSerializer):
    def check_rows(self, rows: list[Row]) -> RowErrors:
        errors: RowErrors = defaultdict(dict)
        for index, first in find_repeats(rows, lambda row: (row["customer"], row["reference"])).items():
            errors[index]["reference"] = [
                f"Repeats row {first}: each reference may appear once per customer and request."
            ]
        resolve_customers(rows, errors)
        slugs = {row["survey"] for row in rows if "survey" in row}
        surveys = {survey.slug: survey for survey in Survey.objects.filter(slug__in=slugs, is_active=True)}
        needs_default = any("survey" not in row for row in rows)
        default_survey = Survey.objects.filter(is_default=True).first() if needs_default else None
        for index, row in enumerate(rows):
            if "survey" not in row:
                if default_survey is None:
                    errors[index]["survey"] = [NO_DEFAULT_SURVEY]
                else:
                    row["survey"] = default_survey
            elif row["survey"] in surveys:
                row["survey"] = surveys[row["survey"]]
            else:
                errors[index]["survey"] = [f'No active survey with slug "{row["survey"]}".']
        return errors


class DeliveryRowSerializer(DeliverySerializer):
    """One row of deliveries/bulk/. Customers and surveys are looked up for all rows in
    one query each by the list, so here they are only checked as text."""

    customer = SingleLineCharField(max_length=100, help_text="External ID of the customer.")
    survey = SingleLineCharField(max_length=50, required=False, help_text="Slug of an active survey; default if left out.")
    invitation = None

    class Meta:
        list_serializer_class = DeliveryBulkSerializer


class DeliveryCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="New deliveries, each with its invitation scheduled or suppressed.")
    existing = serializers.IntegerField(help_text="Deliveries recorded before (same customer + reference): unchanged.")


# --- Responses


class ResponseSerializer(serializers.ModelSerializer):
    """An answer as it stands: the last score and comment the respondent gave."""

    customer = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, help_text="External ID of the customer."
    )
    contact_email = serializers.EmailField(source="invitation.contact.email", read_only=True)
    delivery_reference = serializers.CharField(source="invitation.delivery.reference", read_only=True)
    survey = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the survey.")

    class Meta:
        model = Response
        fields = [
            "id",
            "customer",
            "contact_email",
            "delivery_reference",
            "survey",
            "score",
            "band",
            "comment",
            "submitted_at",
            "is_suspect",
            "revisions",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "submitted_at": {"help_text": "When the standing answer was given (the last change, if revised)."},
            "is_suspect": {
                "help_text": "Looks like a machine clicking; raises no alert until a stable answer follows."
            },
            "revisions": {"help_text": "How many times the respondent changed the answer."},
        }

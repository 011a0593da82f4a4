"""Alerts in API v1: serializers validate and translate; insights.services works the alert."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from insights.models import Alert, AlertNote, AlertStatus


class AlertSerializer(serializers.ModelSerializer):
    """A churn-risk alert with the answer that raised it. Tier, revenue and score are
    as they stood when it was raised (the score follows a revised answer)."""

    customer = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, help_text="External ID of the customer."
    )
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of the assignee; null: the CX leads.",
    )
    comment = serializers.CharField(source="response.comment", read_only=True, help_text="The respondent's comment.")
    reason = serializers.SerializerMethodField(help_text="Why the alert ranks where it does, in words.")

    class Meta:
        model = Alert
        fields = [
            "id",
            "customer",
            "tier",
            "priority",
            "high_value",
            "kind",
            "status",
            "assignee",
            "score",
            "comment",
            "revenue_12m",
            "created_at",
            "due_at",
            "acknowledged_at",
            "resolved_at",
            "escalated_at",
            "reason",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "priority": {"help_text": "1 critical, 2 high, 3 medium, 4 low."},
            "revenue_12m": {"help_text": "The customer's revenue over 12 months when the alert was raised."},
        }

    def get_reason(self, alert: Alert) -> str:
        return alert.rank_reason()


class AlertChangeSerializer(serializers.Serializer):
    """What PATCH may change: the status, with a note; or a note alone."""

    status = serializers.ChoiceField(
        choices=[(status.value, status.label) for status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED)],
        required=False,
        help_text="acknowledged or resolved; resolving needs a note saying what was done.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=AlertNote._meta.get_field("text").max_length,
        help_text="Added to the alert's history; required to resolve. Alone, it adds a note.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        status, note = attrs.get("status"), attrs.get("note", "")
        if status is None and "note" not in attrs:
            raise serializers.ValidationError("Send a status, a note, or both.")
        if status == AlertStatus.RESOLVED and not note.strip():
            raise serializers.ValidationError({"note": ["Say how it was resolved: a resolution note is required."]})
        if status is None and not note.strip():
            raise serializers.ValidationError({"note": ["A note needs some text."]})
        return attrs

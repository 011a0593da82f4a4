"""Alerts and the insights summary in API v1: serializers validate and translate;
insights.alerts.services works the alert, insights.dashboard.figures computes the
summary."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from insights.alerts import rules
from insights.dashboard.figures import Quadrant, QuadrantFigure
from insights.models import Alert, AlertNote, AlertStatus


class AlertSerializer(serializers.ModelSerializer):
    """A churn-risk alert with the answer that raised it, or, for an unreachable alert
    (no answer: score and comment null), the contact lost. Tier, revenue and score are
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
    comment = serializers.CharField(
        source="response.comment",
        read_only=True,
        allow_null=True,
        help_text="The respondent's comment; null for an unreachable alert.",
    )
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
            "lost_contact_email",
            "lost_contact_reason",
            "lost_contact_at",
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
            "kind": {
                "help_text": "at_risk (an answer below 6), decline (a high-value customer's score fell 3 or "
                "more), unreachable (a tier 1–2 customer none of whose contacts can be surveyed)."
            },
            "score": {"help_text": "The answer's score; null for an unreachable alert."},
            "lost_contact_email": {"help_text": "Unreachable alerts: the contact lost last; empty otherwise."},
            "lost_contact_reason": {
                "help_text": "Unreachable alerts: bounced, soft_bounces or complained; empty otherwise."
            },
            "lost_contact_at": {"help_text": "Unreachable alerts: when that contact bounced or complained."},
            "revenue_12m": {"help_text": "The customer's revenue over 12 months when the alert was raised."},
        }

    def get_reason(self, alert: Alert) -> str:
        return rules.rank_reason(alert)


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


# --- The insights summary: read-only, translated from insights.dashboard.figures.Summary.


def _money(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    # No max_digits: a sum over the whole portfolio has no natural bound.
    return serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True, help_text=help_text, **kwargs)


def _net_score(help_text: str, **kwargs: Any) -> serializers.FloatField:
    return serializers.FloatField(read_only=True, allow_null=True, help_text=help_text, **kwargs)


class BandCountsSerializer(serializers.Serializer):
    promoter = serializers.IntegerField(read_only=True, help_text="Answers in the promoter band.")
    satisfied = serializers.IntegerField(read_only=True, help_text="Answers in the satisfied band.")
    at_risk = serializers.IntegerField(read_only=True, help_text="Answers in the at-risk band.")


class TierSummarySerializer(serializers.Serializer):
    tier = serializers.IntegerField(
        source="key", read_only=True, allow_null=True,
        help_text="1 to 4; null: customers without a tier (inactive, or new until the next tier recompute).",
    )
    responses = serializers.IntegerField(source="mix.responses", read_only=True, help_text="Answers in the period.")
    net_score = _net_score("% promoters − % at risk, −100 to 100; null without answers.", source="mix.net_score")
    revenue_at_risk = _money(
        "12-month revenue of the tier's active customers whose latest answer in the 180 days up to the "
        "period's end is at risk."
    )


class QuadrantFigureSerializer(serializers.Serializer):
    customers = serializers.IntegerField(read_only=True, help_text="Active customers placed here.")
    revenue = _money("Their 12-month revenue.")


class QuadrantsSerializer(serializers.Serializer):
    protect = QuadrantFigureSerializer(read_only=True, help_text=Quadrant.PROTECT.description)
    maintain = QuadrantFigureSerializer(read_only=True, help_text=Quadrant.MAINTAIN.description)
    grow = QuadrantFigureSerializer(read_only=True, help_text=Quadrant.GROW.description)
    rethink = QuadrantFigureSerializer(read_only=True, help_text=Quadrant.RETHINK.description)

    def to_representation(self, quadrants: dict[Quadrant, QuadrantFigure]) -> dict[str, Any]:
        return super().to_representation({quadrant.value: figure for quadrant, figure in quadrants.items()})


class InsightSummarySerializer(serializers.Serializer):
    """The headline insight figures of a period (insights.dashboard.figures.Summary)."""

    responses = serializers.IntegerField(
        source="mix.responses", read_only=True,
        help_text="Answers given in the period (answers flagged as automated clicks left out).",
    )
    invitations_sent = serializers.IntegerField(
        source="reach.sent", read_only=True, help_text="Survey emails sent in the period."
    )
    answered = serializers.IntegerField(
        source="reach.answered", read_only=True, help_text="Of those, how many were answered."
    )
    response_rate = serializers.FloatField(
        source="reach.response_rate", read_only=True, allow_null=True,
        help_text="answered / invitations_sent, a share 0–1 to 4 decimals; null when none was sent.",
    )
    net_score = _net_score(
        "% promoters − % at risk of the period's answers, −100 to 100 to 1 decimal; null without answers.",
        source="mix.net_score",
    )
    weighted_net_score = _net_score(
        "The net score of each active customer's latest answer in the period, weighted by their 12-month "
        "revenue; null without answers (or when every answering customer has no revenue)."
    )
    bands = BandCountsSerializer(source="mix", read_only=True, help_text="The period's answers by band.")
    revenue_at_risk = _money(
        "12-month revenue of active customers whose latest answer in the 180 days up to the period's end is "
        "at risk."
    )
    currency = serializers.CharField(
        read_only=True, help_text="The ISO 4217 code every amount is in (the CURRENCY setting), e.g. EUR."
    )
    open_alerts = serializers.IntegerField(
        source="alerts.unresolved", read_only=True,
        help_text="Alerts open or acknowledged now, whenever raised (the period does not apply; a survey "
        "filter leaves out unreachable alerts, which no answer raised).",
    )
    overdue_alerts = serializers.IntegerField(
        source="alerts.overdue", read_only=True, help_text="Open alerts whose acknowledgement is overdue now."
    )
    by_tier = TierSummarySerializer(
        source="tiers", many=True, read_only=True,
        help_text="Every tier (only the chosen one with a tier filter), then customers without a tier if "
        "any answered or are at risk.",
    )
    quadrants = QuadrantsSerializer(
        source="latest.quadrants", read_only=True,
        help_text="Active customers by their latest answer in the period: high value is tier 1–2, low "
        "satisfaction the at-risk band.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so the period's fields are added by name.
        period = {
            "from": serializers.DateField(
                source="filters.date_from", read_only=True, help_text="First day of the period."
            ),
            "to": serializers.DateField(source="filters.date_to", read_only=True, help_text="Last day of the period."),
        }
        return {**period, **super().get_fields()}

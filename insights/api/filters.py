from __future__ import annotations

from django_filters import rest_framework as filters

from customers.models import Tier
from insights.models import Alert, AlertKind, AlertStatus, Priority


class AlertFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=AlertStatus.choices, help_text="open, acknowledged or resolved.")
    priority = filters.TypedChoiceFilter(
        choices=Priority.choices, coerce=int, help_text="1 critical, 2 high, 3 medium, 4 low."
    )
    kind = filters.ChoiceFilter(choices=AlertKind.choices, help_text="at_risk, decline or unreachable.")
    tier = filters.TypedChoiceFilter(
        choices=Tier.choices, coerce=int, help_text="The customer's tier when the alert was raised, 1 to 4."
    )
    assignee = filters.CharFilter(field_name="assignee__username", help_text="Username of the assignee.")
    customer = filters.CharFilter(field_name="customer__external_id", help_text="External ID of the customer.")

    class Meta:
        model = Alert
        fields = ["status", "priority", "kind", "tier", "assignee", "customer"]

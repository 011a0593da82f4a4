"""The alert rules' words for templates: `{{ alert|rank_reason }}`,
`{{ alert|unreachable_summary }}`."""

from __future__ import annotations

from django import template

from ..alerts import rules
from ..models import Alert

register = template.Library()


@register.filter
def rank_reason(alert: Alert) -> str:
    return rules.rank_reason(alert)


@register.filter
def unreachable_summary(alert: Alert) -> str:
    return rules.unreachable_summary(alert)

"""The alert rules' words for templates: `{{ alert|rank_reason }}`."""

from __future__ import annotations

from django import template

from ..alerts import rules
from ..models import Alert

register = template.Library()


@register.filter
def rank_reason(alert: Alert) -> str:
    return rules.rank_reason(alert)

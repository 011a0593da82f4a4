"""The customer's timeline: a page of its own, and the section the customer page loads
into itself (customers.sections; insights' AppConfig registers it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from core.http import HtmxHttpRequest, page_or_fragment
from core.querystring import is_id
from customers.queries import visible_customers

from ..alerts import queries as alert_queries
from ..dashboard import charts
from . import queries

CHART_ANSWERS = 24
LAST_PAGE_ASKED = 100_000  # beyond any customer's story; keeps the OFFSET a small number


@login_required
def timeline(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(visible_customers(request.user), pk=pk)
    number = request.GET.get("page", "1")
    page = queries.timeline_page(customer=customer, number=min(int(number), LAST_PAGE_ASKED) if is_id(number) else 1)
    context = {"customer": customer, "timeline": page}
    if page.number == 1:
        # The score chart heads the story's first page.
        history = alert_queries.score_history(customer=customer, limit=CHART_ANSWERS)
        if history:
            satisfied_min = alert_queries.at_risk_below(customer=customer)
            context.update(history=history, chart=charts.score_chart(history, current_pk=None, satisfied_min=satisfied_min))
    return page_or_fragment(
        request, page="insights/timeline.html", fragment="insights/partials/timeline.html", context=context
    )

"""The insights page, with its quadrant lists and CSV exports: staff see every customer,
an account manager their own book."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.http import HtmxHttpRequest, page_or_fragment
from customers.models import Tier
from customers.queries import account_managers
from surveys.models import Survey

from . import charts, exports, figures
from .filters import InsightFilterForm


def _filter_form(request: HtmxHttpRequest) -> InsightFilterForm:
    """The filters from the query string, over the customers this user may read."""
    return InsightFilterForm(request.GET or None, today=timezone.localdate(), user=request.user)


def _invalid_filters(form: InsightFilterForm) -> HttpResponse:
    errors = "; ".join(f"{name}: {' '.join(messages_)}" for name, messages_ in form.errors.items())
    return HttpResponse(f"Invalid filters. {errors}", status=400, content_type="text/plain; charset=utf-8")


def _csv_export(
    request: HtmxHttpRequest,
    *,
    respond: Callable[..., HttpResponse],
    filename: Callable[[figures.InsightFilters], str],
) -> HttpResponse:
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return _invalid_filters(form)
    filters = form.filters()
    return respond(filters, filename=filename(filters))


@login_required
def export_responses(request: HtmxHttpRequest) -> HttpResponse:
    return _csv_export(
        request,
        respond=exports.answers_csv_response,
        filename=lambda filters: f"responses-{filters.date_from}-to-{filters.date_to}.csv",
    )


@login_required
def export_customers(request: HtmxHttpRequest) -> HttpResponse:
    return _csv_export(
        request,
        respond=lambda filters, filename: exports.csv_response(exports.customer_rows(filters), filename=filename),
        filename=lambda filters: f"customers-{filters.date_to}.csv",
    )


QUADRANT_CUSTOMERS_PER_PAGE = 25
# Where the value map draws its satisfaction line when no survey is chosen.
DEFAULT_SATISFIED_MIN = Survey._meta.get_field("satisfied_min").default


@login_required
def insights(request: HtmxHttpRequest) -> HttpResponse:
    form = _filter_form(request)
    filters = form.filters()
    board = figures.dashboard(filters, now=timezone.now())
    context = {"form": form, "filters": filters, "board": board, "charts": _insight_charts(filters, board)}
    return page_or_fragment(
        request,
        page="insights/insights.html",
        fragment="insights/partials/insights_results.html",
        context=context,
        page_context=lambda: {
            "tiers": Tier.choices,
            "managers": account_managers(),
            "surveys": Survey.objects.order_by("name"),
            "presets": figures.period_presets(filters, today=timezone.localdate()),
        },
        status=400 if form.errors else 200,
    )


def _insight_charts(filters: figures.InsightFilters, board: figures.Dashboard) -> dict[str, object]:
    buckets = board.buckets
    satisfied_min = filters.survey.satisfied_min if filters.survey else DEFAULT_SATISFIED_MIN
    return {
        "mix": charts.band_mix_chart(buckets, weekly=filters.weekly),
        "net": charts.net_score_chart(buckets, weekly=filters.weekly),
        "tiers": charts.band_bars_chart(board.summary.tiers, link=_filtered_to(filters, "tier")),
        "managers": charts.band_bars_chart(board.managers, link=_filtered_to(filters, "account_manager")),
        "surveys": charts.band_bars_chart(board.surveys, link=_filtered_to(filters, "survey")),
        "map": charts.value_map(
            board.map_customers,
            threshold=board.high_value_threshold,
            satisfied_min=satisfied_min,
            customer_url=_url_maker("customers:detail"),
        ),
        "pareto": charts.pareto_chart(board.pareto, board.tiers),
    }


def _filtered_to(filters: figures.InsightFilters, name: str) -> Callable[[object], str]:
    """The insights page's address with one more filter set: a breakdown row's link."""
    return lambda key: "?" + filters.query_string(**{name: key})


def _url_maker(view_name: str) -> Callable[[int], str]:
    """A URL for each id without reversing each one: hundreds of links, one reverse."""
    prefix, suffix = reverse(view_name, args=[0]).rsplit("0", 1)
    return lambda pk: f"{prefix}{pk}{suffix}"


@login_required
def quadrant(request: HtmxHttpRequest, name: str) -> HttpResponse:
    form = _filter_form(request)
    try:
        chosen = figures.Quadrant(name)
    except ValueError:
        raise Http404("No such quadrant.") from None
    filters = form.filters()
    paginator = Paginator(figures.quadrant_customers(filters, chosen), QUADRANT_CUSTOMERS_PER_PAGE)
    context = {"quadrant": chosen, "filters": filters, "page": paginator.get_page(request.GET.get("page"))}
    return page_or_fragment(
        request, page="insights/quadrant.html", fragment="insights/partials/quadrant_list.html", context=context
    )


SILENT_PER_PAGE = 50


@login_required
def silent_risk(request: HtmxHttpRequest) -> HttpResponse:
    """Every silent tier 1–2 customer (the insights page shows the largest), 50 a page."""
    filters = _filter_form(request).filters()
    silent = figures.silent_risk(filters, now=timezone.now())
    context = {"filters": filters, "page": Paginator(silent, SILENT_PER_PAGE).get_page(request.GET.get("page"))}
    return render(request, "insights/silent_risk.html", context)

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from core.http import HtmxHttpRequest, page_or_fragment

from . import queries
from .models import Customer, Tier

CUSTOMERS_PER_PAGE = 50
INVOICES_SHOWN = 50


@login_required
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = queries.CustomerFilters.from_query(request.GET)
    paginator = Paginator(queries.customers(filters=filters, user=request.user), CUSTOMERS_PER_PAGE)
    context = {
        "filters": filters,
        "page": paginator.get_page(request.GET.get("page")),
        "sort_links": filters.sort_links(),
    }
    return page_or_fragment(
        request,
        page="customers/list.html",
        fragment="customers/partials/customer_table.html",
        context=context,
        page_context=lambda: {"tiers": Tier.choices, "managers": queries.account_managers()},
    )


@login_required
def customer_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.select_related("account_manager"), pk=pk)
    today = timezone.localdate()
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "contacts": customer.contacts.all(),
            "invoices": queries.recent_invoices(customer=customer, today=today, limit=INVOICES_SHOWN),
            "invoice_count": customer.invoices.count(),
        },
    )

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from core import audit
from core import deliverability as sending
from core.http import HtmxHttpRequest, page_or_fragment, see_other

from . import deliverability, queries, sections, services
from .models import Contact, Tier

CUSTOMERS_PER_PAGE = 50
INVOICES_SHOWN = 50
SUPPRESSED_PER_PAGE = 50
DELIVERY_FIGURES = ("sent", "delivered", "bounced", "complained", "failed")


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
    customer = get_object_or_404(queries.visible_customers(request.user).select_related("account_manager"), pk=pk)
    today = timezone.localdate()
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "contacts": customer.contacts.all(),
            "invoices": queries.recent_invoices(customer=customer, today=today, limit=INVOICES_SHOWN),
            "invoice_count": customer.invoices.count(),
            "sections": sections.sections(),
            **audit.trail_for_page(request.user, customer, customer.contacts.all()),
        },
    )


def _staff_only(request: HtmxHttpRequest, what: str = "The deliverability page is") -> None:
    if not request.user.is_staff:
        raise PermissionDenied(f"{what} for staff.")


@login_required
def deliverability_page(request: HtmxHttpRequest) -> HttpResponse:
    _staff_only(request)
    search = request.GET.get("q", "")
    days = queries.delivery_days(today=timezone.localdate())
    paginator = Paginator(queries.suppressed_contacts(search=search), SUPPRESSED_PER_PAGE)
    context = {
        "pause": sending.pause_in_force(),
        "days": days,
        "totals": {name: sum(getattr(day, name) for day in days) for name in DELIVERY_FIGURES},
        "search": search,
        "page": paginator.get_page(request.GET.get("page")),
    }
    return render(request, "customers/deliverability.html", context)


@login_required
@require_POST
def resume_sending(request: HtmxHttpRequest) -> HttpResponse:
    _staff_only(request)
    if deliverability.resume_sending(by=request.user):
        messages.success(request, "Survey emails are sending again; those that waited go with the next sweep.")
    else:
        messages.info(request, "Survey emails were not paused.")
    return see_other(reverse("customers:deliverability"))


class ReenableForm(forms.Form):
    email = forms.EmailField(max_length=254)
    # Where the list stood, to go back to it.
    q = forms.CharField(required=False, max_length=queries.MAX_SEARCH_LENGTH)
    page = forms.IntegerField(required=False, min_value=1)


@login_required
@require_POST
def reenable_address(request: HtmxHttpRequest) -> HttpResponse:
    _staff_only(request)
    form = ReenableForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That is not an address that can be re-enabled.")
        return see_other(reverse("customers:deliverability"))
    email = form.cleaned_data["email"]
    count = deliverability.reenable_address(email=email, by=request.user)
    if count:
        messages.success(request, f"{email} is deliverable again for {count} contact{pluralize(count)}.")
    else:
        messages.info(request, f"{email} was not marked undeliverable.")
    where = {name: form.cleaned_data[name] for name in ("q", "page") if form.cleaned_data[name]}
    return see_other(reverse("customers:deliverability") + (f"?{urlencode(where)}" if where else ""))


class EraseContactForm(forms.Form):
    confirm = forms.BooleanField(
        error_messages={"required": "Tick the box to confirm: an erasure cannot be undone."}
    )


@login_required
@require_http_methods(["GET", "POST"])
def erase_contact(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Asks staff to confirm, then erases the contact on request (GDPR Article 17)."""
    _staff_only(request, "Erasing a contact is")
    contacts = queries.visible_to(request.user, Contact.objects.select_related("customer"), via="customer")
    contact = get_object_or_404(contacts, pk=pk)
    form = EraseContactForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        # The message names no one: it is kept in the session until shown.
        if services.erase_contact(contact=contact, by=request.user):
            messages.success(
                request,
                "The contact was erased: their name, address and comments are gone, and their links no longer open. "
                "Their scores stay in the figures, anonymously.",
            )
        else:
            messages.info(request, "That contact was erased already.")
        return see_other(reverse("customers:detail", args=[contact.customer_id]) + "#contacts-heading")
    return render(
        request, "customers/erase_contact.html", {"contact": contact, "form": form}, status=400 if form.is_bound else 200
    )

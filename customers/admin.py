from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html

from core.admin import AuditTrailAdmin

from . import services
from .models import Contact, Customer, Invoice, OptOutReason, UnreachableReason


def _hold_opt_out_change(form: forms.ModelForm) -> bool | None:
    """The opted-out state a contact's form asks for when it changes it, or None. The
    contact keeps its stored state for the save; the service applies the change after."""
    if "opted_out" not in form.changed_data:
        return None
    wanted = form.instance.opted_out
    form.instance.opted_out = not wanted
    return wanted


def _apply_opt_out_change(request: HttpRequest, contact: Contact, wanted: bool | None) -> None:
    if wanted is True:
        services.opt_out_contact(contact=contact, reason=OptOutReason.STAFF)
    elif wanted is False:
        services.opt_in_contact(contact=contact, by=request.user)


@admin.display(description="Reachable")
def reachability(contact: Contact) -> str:
    if contact.is_erased:
        return f"No: erased, {dateformat.format(timezone.localtime(contact.erased_at), 'j M Y')}"
    reason = contact.unreachable_reason
    if not reason:
        return "Yes"
    since = contact.unreachable_since
    label = UnreachableReason(reason).label.lower()
    return f"No: {label}, {dateformat.format(timezone.localtime(since), 'j M Y')}" if since else f"No: {label}"


class ContactInline(admin.TabularInline):
    """Ticking or unticking "opted out" goes through the opt-out and opt-in services
    (CustomerAdmin.save_formset), never a raw save."""

    model = Contact
    extra = 0
    fields = ["name", "email", "language", "opted_out", "opted_out_at", reachability]
    readonly_fields = ["opted_out_at", reachability]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        # Erased contacts are not for editing: the contacts' own admin lists them, read-only.
        return super().get_queryset(request).filter(erased_at__isnull=True)


@admin.register(Customer)
class CustomerAdmin(AuditTrailAdmin):
    list_display = [
        "name",
        "external_id",
        "tier",
        "revenue_12m",
        "net_value",
        "on_time_rate",
        "latest_score",
        "latest_band",
        "account_manager",
        "is_active",
    ]
    list_filter = ["tier", "is_active", "latest_band", ("account_manager", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "external_id", "contacts__email"]
    list_select_related = ["account_manager"]
    ordering = ["-revenue_12m", "name"]
    autocomplete_fields = ["account_manager"]
    readonly_fields = [
        "revenue_12m",
        "on_time_rate",
        "avg_days_late",
        "net_value",
        "tier",
        "metrics_updated_at",
        "latest_score",
        "latest_band",
        "latest_answer_at",
        "invoices",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["external_id", "name", "account_manager", "cost_to_serve", "is_active", "time_zone"]}),
        (
            "Value (recomputed from invoices)",
            {
                "fields": [
                    "revenue_12m",
                    "net_value",
                    "on_time_rate",
                    "avg_days_late",
                    "tier",
                    "metrics_updated_at",
                    "invoices",
                ]
            },
        ),
        ("Latest answer", {"fields": ["latest_score", "latest_band", "latest_answer_at"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    # Invoices can run into thousands per customer: link to their list instead of inlining them.
    inlines = [ContactInline]
    actions = ["recompute_value_metrics"]

    @admin.display(description="Average days late")
    def avg_days_late(self, customer: Customer) -> float | None:
        return customer.avg_days_late

    @admin.display(description="Invoices")
    def invoices(self, customer: Customer) -> str:
        if customer.pk is None:
            return "—"
        url = reverse("admin:customers_invoice_changelist") + f"?customer__id__exact={customer.pk}"
        return format_html('<a href="{}">{} invoice(s)</a>', url, customer.invoices.count())

    def save_model(self, request: HttpRequest, obj: Customer, form: forms.ModelForm, change: bool) -> None:
        # The same effects as a change through the API: a customer made inactive leaves
        # the tiers, and its surveys are suppressed when they are due to go.
        services.save_customer(customer=obj, created=not change, fields=form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        services.delete_customers(customers=Customer.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        services.delete_customers(customers=queryset)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset, change: bool) -> None:
        if formset.model is not Contact:
            super().save_formset(request, form, formset, change)
            return
        held = [
            (contact_form, _hold_opt_out_change(contact_form))
            for contact_form in formset.forms
            if contact_form.has_changed() and not contact_form.cleaned_data.get("DELETE")
        ]
        super().save_formset(request, form, formset, change)
        for contact_form, wanted in held:
            _apply_opt_out_change(request, contact_form.instance, wanted)

    @admin.action(description="Recompute value metrics and tiers", permissions=["change"])
    def recompute_value_metrics(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        # Tiers rank every customer against all the others, so the selection only starts
        # it; over a large portfolio it takes a while, so a worker does it.
        services.request_value_metrics_recompute()
        self.message_user(
            request,
            "Value metrics and tiers of every customer are being recomputed in the background; "
            "reload this list in a minute.",
            messages.SUCCESS,
        )


@admin.register(Contact)
class ContactAdmin(AuditTrailAdmin):
    """Ticking or unticking "opted out" goes through the opt-out and opt-in services;
    the address's delivery state is the provider's to set and the deliverability page's
    to clear."""

    list_display = ["email", "name", "customer", "language", "opted_out", reachability]
    list_filter = ["language", "opted_out", "opt_out_reason", "undeliverable_reason"]
    search_fields = ["email", "name", "customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "opted_out_at",
        "opt_out_reason",
        "undeliverable_at",
        "undeliverable_reason",
        "reenabled_at",
        "erased_at",
        "created_at",
    ]
    actions = ["erase_contacts"]

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> list[str]:
        if obj is not None and obj.is_erased:
            # Nothing of an erased contact may be written again.
            return ["customer", "name", "email", "language", "opted_out", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Contact, form: forms.ModelForm, change: bool) -> None:
        wanted = _hold_opt_out_change(form)
        super().save_model(request, obj, form, change)
        _apply_opt_out_change(request, obj, wanted)

    @admin.action(description="Erase the selected contacts on request (GDPR Article 17)", permissions=["change"])
    def erase_contacts(self, request: HttpRequest, queryset: QuerySet[Contact]) -> TemplateResponse | None:
        """Asks to confirm first, as deleting does: an erasure cannot be undone."""
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase these contacts?",
                "opts": self.model._meta,
                "contacts": queryset.select_related("customer"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/customers/contact/erase_confirmation.html", context)
        erased = sum(services.erase_contact(contact=contact, by=request.user) for contact in queryset)
        already = queryset.count() - erased
        self.message_user(
            request,
            f"Erased {erased} contact(s): names, addresses and comments are gone; scores stay, anonymously."
            + (f" {already} had been erased already." if already else ""),
            messages.SUCCESS,
        )
        return None


class PaymentStatusFilter(admin.SimpleListFilter):
    title = "payment status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("paid", "Paid"), ("unpaid", "Unpaid, not yet due"), ("overdue", "Overdue")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        today = timezone.localdate()
        if self.value() == "paid":
            return queryset.filter(paid_on__isnull=False)
        if self.value() == "unpaid":
            return queryset.filter(paid_on__isnull=True, due_on__gte=today)
        if self.value() == "overdue":
            return queryset.filter(paid_on__isnull=True, due_on__lt=today)
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "amount", "issued_on", "due_on", "paid_on", "status"]
    list_filter = [PaymentStatusFilter]
    date_hierarchy = "issued_on"
    search_fields = ["number", "customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]

    def save_model(self, request: HttpRequest, obj: Invoice, form: forms.ModelForm, change: bool) -> None:
        services.save_invoice(invoice=obj)

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        services.delete_invoices(invoices=Invoice.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        services.delete_invoices(invoices=queryset)

    @admin.display(description="Status")
    def status(self, invoice: Invoice) -> str:
        today = timezone.localdate()
        status = invoice.payment_status(today)
        if status == "overdue":
            return f"Overdue {invoice.days_late(today)} days"
        return status.capitalize()

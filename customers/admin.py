from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .models import Contact, Customer, Invoice


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "email", "language", "opted_out", "opted_out_at"]
    readonly_fields = ["opted_out_at"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
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
        (None, {"fields": ["external_id", "name", "account_manager", "cost_to_serve", "is_active"]}),
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

    @admin.display(description="Invoices")
    def invoices(self, customer: Customer) -> str:
        if customer.pk is None:
            return "—"
        url = reverse("admin:customers_invoice_changelist") + f"?customer__id__exact={customer.pk}"
        return format_html('<a href="{}">{} invoice(s)</a>', url, customer.invoices.count())

    @admin.action(description="Recompute value metrics and tiers", permissions=["change"])
    def recompute_value_metrics(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        # Tiers rank every customer against all the others, so the selection only starts it.
        updated = services.recompute_value_metrics()
        self.message_user(
            request, f"Recomputed value metrics and tiers for all {updated} customers.", messages.SUCCESS
        )


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "customer", "language", "opted_out"]
    list_filter = ["language", "opted_out"]
    search_fields = ["email", "name", "customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["opted_out_at", "created_at"]


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

    @admin.display(description="Status")
    def status(self, invoice: Invoice) -> str:
        today = timezone.localdate()
        status = invoice.payment_status(today)
        if status == "overdue":
            return f"Overdue {invoice.days_late(today)} days"
        return status.capitalize()

"""Customers, contacts and invoices in API v1: serializers validate, services write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.bulk import BULK_DESCRIPTION, BULK_ERRORS, UpsertCountsSerializer
from core.api.parsers import JSONParser
from core.api.permissions import StaffWritesManagersRead
from customers import services
from customers.models import Contact, Customer, Invoice
from customers.queries import visible_customers, visible_to

from .filters import ContactFilter, CustomerFilter, InvoiceFilter
from .serializers import (
    ContactSerializer,
    CustomerRowSerializer,
    CustomerSerializer,
    InvoiceRowSerializer,
    InvoiceSerializer,
)

# Customers and invoices are upserted by their key.
UPSERT_DESCRIPTION = BULK_DESCRIPTION + "Rows are matched to existing records by their key and replace them."


class _ApiViewSet(viewsets.GenericViewSet):
    permission_classes = [StaffWritesManagersRead]
    # JSON everywhere: a list of rows has no form encoding.
    parser_classes = [JSONParser]

    def upsert(self, request: Request, service: Callable[..., tuple[Model, bool]]) -> Response:
        """Validates one row, hands it to `service`, answers 201 if it created, else 200."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance, created = service(**serializer.validated_data)
        return Response(
            self.get_serializer(instance).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["customers"])
@extend_schema_view(
    list=extend_schema(summary="List customers"),
    retrieve=extend_schema(summary="Read a customer"),
    partial_update=extend_schema(summary="Change some of a customer's fields"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ApiViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    lookup_field = "external_id"
    # External IDs come from other systems (dots, dashes, spaces...): anything but the
    # path separator. DRF's default also excludes dots.
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Customer]:
        return visible_customers(self.request.user).select_related("account_manager").order_by("name", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "external_id": self.kwargs.get(self.lookup_field)}

    @extend_schema(summary="Create a customer", responses={201: CustomerSerializer})
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer, _ = services.upsert_customer(**serializer.customer_values())
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Create or replace a customer",
        description="Creates the customer (201) or replaces it (200). The body's external_id must match the URL's; "
        "fields left out take their defaults.",
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    )
    def update(self, request: Request, external_id: str) -> Response:
        customer = self.get_queryset().filter(external_id=external_id).first()
        serializer = self.get_serializer(customer, data=request.data)
        serializer.is_valid(raise_exception=True)
        customer, created = services.upsert_customer(**serializer.customer_values())
        return Response(
            self.get_serializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request: Request, external_id: str) -> Response:
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer, _ = services.upsert_customer(**serializer.customer_values())
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        summary="Create or replace many customers",
        description=UPSERT_DESCRIPTION + " The key is external_id.",
        request=CustomerRowSerializer(many=True),
        responses={200: UpsertCountsSerializer, 400: BULK_ERRORS},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        serializer = CustomerRowSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        result = services.upsert_customers(
            customers=[services.CustomerData(**row) for row in serializer.validated_data]
        )
        return Response(UpsertCountsSerializer(result).data)


@extend_schema(tags=["contacts"])
@extend_schema_view(list=extend_schema(summary="List contacts"))
class ContactViewSet(mixins.ListModelMixin, _ApiViewSet):
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def get_queryset(self) -> QuerySet[Contact]:
        queryset = Contact.objects.select_related("customer").order_by("name", "email", "pk")
        return visible_to(self.request.user, queryset, via="customer")

    @extend_schema(
        summary="Create or update a contact",
        description="Creates the contact (201), or updates the customer's contact with this email, "
        "compared case-insensitively (200).",
        responses={200: ContactSerializer, 201: ContactSerializer},
    )
    def create(self, request: Request) -> Response:
        return self.upsert(request, services.upsert_contact)

    @extend_schema(
        summary="Erase a contact on request (GDPR Article 17)",
        description="Staff only. Replaces the contact's name and address for good (the email becomes "
        "erased-<id>@erased.invalid) and removes every comment they wrote; their scores stay in every figure, "
        "anonymously; the links of their emails stop opening and no survey goes to them again. Answers with the "
        "erased contact; erasing it again changes nothing.",
        request=None,
        responses={
            200: ContactSerializer,
            404: OpenApiResponse(description="No such contact."),
        },
    )
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: str) -> Response:
        contact = self.get_object()
        services.erase_contact(contact=contact, by=request.user)
        return Response(self.get_serializer(contact).data)


@extend_schema(tags=["invoices"])
@extend_schema_view(list=extend_schema(summary="List invoices"))
class InvoiceViewSet(mixins.ListModelMixin, _ApiViewSet):
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter

    def get_queryset(self) -> QuerySet[Invoice]:
        queryset = Invoice.objects.select_related("customer").order_by("-issued_on", "number", "pk")
        return visible_to(self.request.user, queryset, via="customer")

    @extend_schema(
        summary="Create or update an invoice",
        description="Creates the invoice (201) or updates the customer's invoice with this number (200). "
        "Value metrics and tiers are recomputed in the background.",
        responses={200: InvoiceSerializer, 201: InvoiceSerializer},
    )
    def create(self, request: Request) -> Response:
        return self.upsert(request, services.upsert_invoice)

    @extend_schema(
        summary="Create or update many invoices",
        description=UPSERT_DESCRIPTION
        + " The key is customer + number. Value metrics and tiers are recomputed in the background.",
        request=InvoiceRowSerializer(many=True),
        responses={200: UpsertCountsSerializer, 400: BULK_ERRORS},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        serializer = InvoiceRowSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        invoices = [
            services.InvoiceData(customer_id=row.pop("customer").pk, **row) for row in serializer.validated_data
        ]
        return Response(UpsertCountsSerializer(services.upsert_invoices(invoices=invoices)).data)

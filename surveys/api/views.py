"""Deliveries and responses in API v1: serializers validate, surveys.services records and schedules."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.bulk import BULK_DESCRIPTION, BULK_ERRORS
from core.api.parsers import JSONParser
from core.api.permissions import StaffWritesManagersRead
from customers.queries import visible_to
from surveys import services
from surveys.models import NO_DEFAULT_SURVEY, Survey
from surveys.models import Response as SurveyResponse

from .filters import ResponseFilter
from .serializers import DeliveryCountsSerializer, DeliveryRowSerializer, DeliverySerializer, ResponseSerializer


@extend_schema(tags=["deliveries"])
class DeliveryViewSet(viewsets.GenericViewSet):
    permission_classes = [StaffWritesManagersRead]
    parser_classes = [JSONParser]
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Record a delivery and schedule its survey",
        description="Creates the delivery (201) with its invitation: scheduled for delivered_at plus the "
        "survey's send delay, or suppressed with the reason (opted_out, throttled, inactive_customer). "
        "A repeat of customer + reference answers 200 with the delivery already recorded and schedules nothing.",
        responses={200: DeliverySerializer, 201: DeliverySerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = DeliverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            recorded = services.record_delivery(delivery=services.DeliveryData(**serializer.delivery_values()))
        except Survey.DoesNotExist:
            raise serializers.ValidationError({"survey": [NO_DEFAULT_SURVEY]}) from None
        return Response(
            DeliverySerializer(recorded.delivery).data,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Record many deliveries",
        description=BULK_DESCRIPTION
        + "The key is customer + reference: a delivery recorded before counts as existing, stays unchanged "
        "and schedules nothing.",
        request=DeliveryRowSerializer(many=True),
        responses={200: DeliveryCountsSerializer, 400: BULK_ERRORS},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        serializer = DeliveryRowSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        rows = [DeliveryRowSerializer.delivery_values_of(row) for row in serializer.validated_data]
        results = services.record_deliveries(deliveries=[services.DeliveryData(**row) for row in rows])
        created = sum(result.created for result in results)
        return Response(DeliveryCountsSerializer({"created": created, "existing": len(results) - created}).data)


@extend_schema(tags=["responses"])
@extend_schema_view(
    list=extend_schema(
        summary="List responses",
        description="Answers as they stand, the latest first. An account manager sees only the answers "
        "of the customers they manage.",
    )
)
class ResponseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [StaffWritesManagersRead]
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        queryset = SurveyResponse.objects.select_related(
            "customer", "survey", "invitation__contact", "invitation__delivery"
        ).order_by("-submitted_at", "-pk")
        return visible_to(self.request.user, queryset, via="customer")

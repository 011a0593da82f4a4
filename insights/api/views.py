"""Alerts in API v1: serializers validate, insights.services acknowledges, resolves and notes."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from insights import services
from insights.models import Alert, AlertStatus
from insights.queries import alerts_visible_to

from .filters import AlertFilter
from .serializers import AlertChangeSerializer, AlertSerializer


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description="Ranked as the queue is: priority, then revenue at stake, then age. An account manager "
        "sees only the alerts of the customers they manage.",
    ),
    retrieve=extend_schema(summary="Read an alert"),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Unlike the other API writes (staff only), account managers work their own
    # customers' alerts: who sees which alert is decided once, in alerts_visible_to.
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = AlertSerializer
    filterset_class = AlertFilter

    def get_queryset(self) -> QuerySet[Alert]:
        return (
            alerts_visible_to(self.request.user)
            .select_related("customer", "assignee", "response")
            .order_by("priority", "-revenue_12m", "created_at", "pk")
        )

    @extend_schema(
        summary="Acknowledge or resolve an alert, or add a note",
        description="status acknowledged (from open) or resolved (from open or acknowledged, with a note "
        "saying what was done); a note alone is added to the alert's history. An alert the caller may "
        "not see is a 404.",
        request=AlertChangeSerializer,
        responses={
            200: AlertSerializer,
            400: OpenApiResponse(
                description="Nothing changed; the errors name the field: "
                '{"status": ["This alert is already resolved."]}.'
            ),
            404: OpenApiResponse(description="No such alert, or not one the caller may see."),
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        alert = self.get_object()
        change = AlertChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        status, note = change.validated_data.get("status"), change.validated_data.get("note", "")
        try:
            if status == AlertStatus.ACKNOWLEDGED:
                services.acknowledge(alert=alert, user=request.user, note=note)
            elif status == AlertStatus.RESOLVED:
                services.resolve(alert=alert, user=request.user, note=note)
            else:
                services.add_note(alert=alert, user=request.user, text=note)
        except services.AlertChangeError as error:
            raise serializers.ValidationError({"status" if status else "note": [str(error)]}) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)

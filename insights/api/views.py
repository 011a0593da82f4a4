"""Alerts and the insights summary in API v1: serializers validate,
insights.alerts.services acknowledges, resolves and notes, insights.dashboard.figures
sums up."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api.parsers import JSONParser
from customers.models import Tier
from insights.alerts import services
from insights.alerts.queries import alerts_visible_to
from insights.dashboard import figures
from insights.dashboard.filters import InsightFilterForm
from insights.models import Alert, AlertStatus

from .filters import AlertFilter
from .serializers import AlertChangeSerializer, AlertSerializer, InsightSummarySerializer


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


SUMMARY_FILTERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of the period, YYYY-MM-DD; "
                     f"default: the period is the {figures.DEFAULT_PERIOD_DAYS} days ending on `to`."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of the period, YYYY-MM-DD; default: today. "
                     "The period may span at most three years."),
    OpenApiParameter("tier", OpenApiTypes.INT, enum=Tier.values, description="Only customers of this tier, 1 to 4."),
    OpenApiParameter("account_manager", OpenApiTypes.STR,
                     description="Only the customers this account manager (username) manages."),
    OpenApiParameter("survey", OpenApiTypes.STR, description="Only answers to this survey (slug)."),
]


@extend_schema(
    tags=["insights"],
    summary="Read the insights summary",
    description="The headline figures of a period: answers by band and net score, response rate, "
    "revenue-weighted net score, revenue at risk, alerts being worked, the figures by tier and the value "
    "× satisfaction quadrants. Tier and account manager are the customer's as they stand now. "
    f"Without filters: the last {figures.DEFAULT_PERIOD_DAYS} days, ending today. Staff see every "
    "customer; an account manager the customers they may read (their own book, and any whose alert was "
    "handed to them).",
    parameters=SUMMARY_FILTERS,
    responses={
        200: InsightSummarySerializer,
        400: OpenApiResponse(
            description="A filter is invalid; the errors name it: "
            '{"from": ["Enter a date as YYYY-MM-DD."]}, {"account_manager": ["No account manager has that '
            'username."]}.'
        ),
    },
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def insights_summary(request: Request) -> Response:
    form = InsightFilterForm(request.query_params or None, today=timezone.localdate(), user=request.user)
    if form.is_bound and not form.is_valid():
        raise serializers.ValidationError(_form_errors(form))
    summary = figures.summary(form.filters(), now=timezone.now())
    return Response(InsightSummarySerializer(summary).data)


def _form_errors(form: InsightFilterForm) -> dict[str, list[str]]:
    """A Django form's errors as DRF words them: {"field": ["message"]}."""
    errors = form.errors.get_json_data()
    return {
        api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name: [error["message"] for error in found]
        for name, found in errors.items()
    }

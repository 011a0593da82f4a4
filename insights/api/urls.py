from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")

urlpatterns = [
    path("insights/summary/", views.insights_summary, name="insights-summary"),
    *router.urls,
]

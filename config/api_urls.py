"""REST API v1: each app's api/ package contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("customers.api.urls")),
    path("", include("surveys.api.urls")),
    path("", include("insights.api.urls")),
]

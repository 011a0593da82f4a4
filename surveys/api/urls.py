from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("responses", views.ResponseViewSet, basename="response")

urlpatterns = router.urls

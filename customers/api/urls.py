from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

# SimpleRouter: no API root view, which would clash with the other apps' routes under /api/v1/.
router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("invoices", views.InvoiceViewSet, basename="invoice")

urlpatterns = router.urls

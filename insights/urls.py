from django.urls import path

from . import views

app_name = "insights"
urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("alerts/<int:pk>/note/", views.add_note, name="note"),
    path("alerts/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("alerts/<int:pk>/reassign/", views.reassign, name="reassign"),
    path("insights/", views.insights, name="insights"),
    path("insights/quadrants/<str:name>/", views.quadrant, name="quadrant"),
    path("insights/export/responses.csv", views.export_responses, name="export-responses"),
    path("insights/export/customers.csv", views.export_customers, name="export-customers"),
]

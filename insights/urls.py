from django.urls import path

from .alerts import views as alert_views
from .dashboard import views as dashboard_views
from .timeline import views as timeline_views

app_name = "insights"
urlpatterns = [
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", alert_views.alert_detail, name="alert"),
    path("alerts/possible-scanners/", alert_views.possible_scanners, name="possible-scanners"),
    path("alerts/possible-scanners/<int:pk>/confirm/", alert_views.confirm_scanner, name="confirm-scanner"),
    path("alerts/possible-scanners/<int:pk>/dismiss/", alert_views.dismiss_scanner, name="dismiss-scanner"),
    path("alerts/<int:pk>/acknowledge/", alert_views.acknowledge, name="acknowledge"),
    path("alerts/<int:pk>/note/", alert_views.add_note, name="note"),
    path("alerts/<int:pk>/resolve/", alert_views.resolve, name="resolve"),
    path("alerts/<int:pk>/reassign/", alert_views.reassign, name="reassign"),
    path("alerts/<int:pk>/reopen/", alert_views.reopen, name="reopen"),
    path("alerts/acknowledge/", alert_views.acknowledge_many, name="acknowledge-many"),
    path("alerts/at-risk/", alert_views.customers_at_risk, name="at-risk"),
    path("alerts/at-risk/<int:pk>/close/", alert_views.close_at_risk, name="close-at-risk"),
    path("customers/<int:pk>/timeline/", timeline_views.timeline, name="timeline"),
    path("insights/", dashboard_views.insights, name="insights"),
    path("insights/quadrants/<str:name>/", dashboard_views.quadrant, name="quadrant"),
    path("insights/silent-risk/", dashboard_views.silent_risk, name="silent-risk"),
    path("insights/export/responses.csv", dashboard_views.export_responses, name="export-responses"),
    path("insights/export/customers.csv", dashboard_views.export_customers, name="export-customers"),
]

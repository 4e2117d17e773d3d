from django.urls import path

from alerts.api import alerts
from alerts.api.ingest import IngestView

urlpatterns: list = [
    path("ingest/<str:source>/", IngestView.as_view(), name="ingest"),
    path("alerts/", alerts.AlertListView.as_view(), name="api_alert_list"),
    path("alerts/bulk/", alerts.AlertBulkTriageView.as_view(), name="api_alert_bulk"),
    path("alerts/<int:alert_id>/", alerts.AlertDetailView.as_view(), name="api_alert_detail"),
    path("alerts/<int:alert_id>/assign/", alerts.AlertAssignView.as_view(), name="api_alert_assign"),
    path("alerts/<int:alert_id>/start/", alerts.AlertStartView.as_view(), name="api_alert_start"),
    path("alerts/<int:alert_id>/resolve/", alerts.AlertResolveView.as_view(), name="api_alert_resolve"),
    path("alerts/<int:alert_id>/dismiss/", alerts.AlertDismissView.as_view(), name="api_alert_dismiss"),
    path("alerts/<int:alert_id>/reopen/", alerts.AlertReopenView.as_view(), name="api_alert_reopen"),
]

from django.urls import path

from alerts import views_connectors, views_console

app_name = "alerts"

urlpatterns: list = [
    path("", views_console.alert_list, name="alert_list"),
    path("new-count/", views_console.alert_new_count, name="alert_new_count"),
    path("triage/", views_console.alert_triage, name="alert_triage"),
    path("<int:alert_id>/", views_console.alert_detail, name="alert_detail"),
    path("events/<int:event_id>/raw/", views_console.event_raw, name="event_raw"),
    path("search/", views_console.search, name="search"),
    path("connectors/", views_connectors.connector_settings, name="connector_settings"),
    path("connectors/test/", views_connectors.connector_test, name="connector_test"),
    path("connectors/pull/", views_connectors.connector_pull, name="connector_pull"),
    path("connectors/status/", views_connectors.connector_status, name="connector_status"),
]

from django.urls import path

from alerts import views, views_connectors, views_console

app_name = "alerts"

urlpatterns: list = [
    path("", views_console.alert_list, name="alert_list"),
    path("new-count/", views_console.alert_new_count, name="alert_new_count"),
    path("triage/", views_console.alert_triage, name="alert_triage"),
    path("<int:alert_id>/", views_console.alert_detail, name="alert_detail"),
    path("events/<int:event_id>/raw/", views_console.event_raw, name="event_raw"),
    path("search/", views_console.search, name="search"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<int:policy_id>/", views.policy_edit, name="policy_edit"),
    path("policies/<int:policy_id>/toggle/", views.policy_toggle, name="policy_toggle"),
    path("policies/<int:policy_id>/backtest/", views.policy_backtest, name="policy_backtest"),
    path("policies/<int:policy_id>/suppressions/", views.suppression_add, name="suppression_add"),
    path(
        "policies/<int:policy_id>/suppressions/<int:suppression_id>/end/",
        views.suppression_end,
        name="suppression_end",
    ),
    path("connectors/", views_connectors.connector_settings, name="connector_settings"),
    path("connectors/test/", views_connectors.connector_test, name="connector_test"),
    path("connectors/pull/", views_connectors.connector_pull, name="connector_pull"),
    path("connectors/status/", views_connectors.connector_status, name="connector_status"),
]

from django.urls import path

from alerts.views import connectors, policies, queue, search, timeline

app_name = "alerts"

urlpatterns: list = [
    path("", queue.alert_list, name="alert_list"),
    path("new-count/", queue.alert_new_count, name="alert_new_count"),
    path("triage/", queue.alert_triage, name="alert_triage"),
    path("<int:alert_id>/", queue.alert_detail, name="alert_detail"),
    path("events/<int:event_id>/raw/", timeline.event_raw, name="event_raw"),
    path("search/", search.search, name="search"),
    path("policies/", policies.policy_list, name="policy_list"),
    path("policies/<int:policy_id>/", policies.policy_edit, name="policy_edit"),
    path("policies/<int:policy_id>/toggle/", policies.policy_toggle, name="policy_toggle"),
    path("policies/<int:policy_id>/backtest/", policies.policy_backtest, name="policy_backtest"),
    path("policies/<int:policy_id>/suppressions/", policies.suppression_add, name="suppression_add"),
    path(
        "policies/<int:policy_id>/suppressions/<int:suppression_id>/end/",
        policies.suppression_end,
        name="suppression_end",
    ),
    path("connectors/", connectors.connector_settings, name="connector_settings"),
    path("connectors/test/", connectors.connector_test, name="connector_test"),
    path("connectors/pull/", connectors.connector_pull, name="connector_pull"),
    path("connectors/status/", connectors.connector_status, name="connector_status"),
]

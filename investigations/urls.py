from django.urls import include, path

from investigations.views import actions, investigations

app_name = "investigations"

urlpatterns: list = [
    path("reports/", include("investigations.reports.urls")),
    path("administration/notifications/", include("investigations.notifications.urls")),
    path("investigations/", investigations.investigation_list, name="investigation_list"),
    path("investigations/start/", investigations.investigation_start_view, name="investigation_start"),
    path("investigations/<int:investigation_id>/", investigations.investigation_detail, name="investigation_detail"),
    path(
        "investigations/<int:investigation_id>/terminate/",
        investigations.investigation_terminate_view,
        name="investigation_terminate",
    ),
    path(
        "investigations/<int:investigation_id>/summary/",
        investigations.investigation_summary,
        name="investigation_summary",
    ),
    path(
        "investigations/<int:investigation_id>/progress/",
        investigations.investigation_progress,
        name="investigation_progress",
    ),
    path(
        "investigations/<int:investigation_id>/log.csv",
        investigations.investigation_log_csv,
        name="investigation_log_csv",
    ),
    path("actions/", actions.action_center, name="action_center"),
    path("actions/counts/", actions.action_counts, name="action_counts"),
    path("actions/history.csv", actions.action_history_csv, name="action_history_csv"),
    path("actions/bulk-approve/", actions.actions_bulk_approve, name="actions_bulk_approve"),
    path("actions/<int:action_id>/row/", actions.action_row, name="action_row"),
    path("actions/<int:action_id>/approve/", actions.action_approve_view, name="action_approve"),
    path("actions/<int:action_id>/reject/", actions.action_reject_view, name="action_reject"),
    path("actions/<int:action_id>/undo/", actions.action_undo_view, name="action_undo"),
]

from django.urls import include, path

from investigations import views

app_name = "investigations"

urlpatterns: list = [
    path("reports/", include("investigations.reports.urls")),
    path("administration/notifications/", include("investigations.notifications.urls")),
    path("investigations/", views.investigation_list, name="investigation_list"),
    path("investigations/start/", views.investigation_start_view, name="investigation_start"),
    path("investigations/<int:investigation_id>/", views.investigation_detail, name="investigation_detail"),
    path(
        "investigations/<int:investigation_id>/terminate/",
        views.investigation_terminate_view,
        name="investigation_terminate",
    ),
    path("investigations/<int:investigation_id>/summary/", views.investigation_summary, name="investigation_summary"),
    path(
        "investigations/<int:investigation_id>/progress/", views.investigation_progress, name="investigation_progress"
    ),
    path("investigations/<int:investigation_id>/log.csv", views.investigation_log_csv, name="investigation_log_csv"),
    path("actions/", views.action_center, name="action_center"),
    path("actions/counts/", views.action_counts, name="action_counts"),
    path("actions/history.csv", views.action_history_csv, name="action_history_csv"),
    path("actions/bulk-approve/", views.actions_bulk_approve, name="actions_bulk_approve"),
    path("actions/<int:action_id>/row/", views.action_row, name="action_row"),
    path("actions/<int:action_id>/approve/", views.action_approve_view, name="action_approve"),
    path("actions/<int:action_id>/reject/", views.action_reject_view, name="action_reject"),
    path("actions/<int:action_id>/undo/", views.action_undo_view, name="action_undo"),
]

"""Report pages; included by investigations/urls.py under ``reports/`` (names in its namespace)."""

from django.urls import path

from investigations.reports import views

urlpatterns = [
    path("", views.reports, name="reports"),
    path("history/", views.report_history, name="report_history"),
    path("history/<int:pk>/", views.report_record, name="report_record"),
    path("history/<int:pk>/print/", views.report_print, name="report_print"),
    path("metrics/", views.report_metrics, name="report_metrics"),
    path("export/<slug:dataset>.csv", views.report_export, name="report_export"),
]

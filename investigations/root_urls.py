"""The investigations app's pages at the site root, without a namespace: the dashboard and the tenant settings."""

from django.urls import path

from investigations.views import dashboard, settings

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("administration/settings/", settings.admin_settings, name="admin_settings"),
]

"""Notification admin pages; included by investigations/urls.py (names in its namespace)."""

from django.urls import path

from investigations.notifications import views

urlpatterns = [
    path("", views.notification_rule_list, name="notification_rule_list"),
    path("new/", views.notification_rule_create_view, name="notification_rule_create"),
    path("<int:rule_id>/", views.notification_rule_edit, name="notification_rule_edit"),
    path("<int:rule_id>/test/", views.notification_rule_test_view, name="notification_rule_test"),
    path("log/", views.notification_delivery_list, name="notification_delivery_list"),
]

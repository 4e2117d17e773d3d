from django.urls import path

from alerts import views_console

app_name = "alerts"

urlpatterns: list = [
    path("", views_console.alert_list, name="alert_list"),
    path("new-count/", views_console.alert_new_count, name="alert_new_count"),
    path("<int:alert_id>/", views_console.alert_detail, name="alert_detail"),
    path("events/<int:event_id>/raw/", views_console.event_raw, name="event_raw"),
    path("search/", views_console.search, name="search"),
]

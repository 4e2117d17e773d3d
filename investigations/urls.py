from django.urls import include, path

app_name = "investigations"

urlpatterns: list = [
    path("reports/", include("investigations.reports.urls")),
]

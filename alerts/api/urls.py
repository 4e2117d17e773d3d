from django.urls import path

from alerts.api.ingest import IngestView

urlpatterns: list = [
    path("ingest/<str:source>/", IngestView.as_view(), name="ingest"),
]

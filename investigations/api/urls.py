from django.urls import path

from investigations.api import views

urlpatterns: list = [
    path("investigations/", views.InvestigationListView.as_view(), name="api_investigation_list"),
    path(
        "investigations/<int:investigation_id>/",
        views.InvestigationDetailView.as_view(),
        name="api_investigation_detail",
    ),
    path(
        "investigations/<int:investigation_id>/terminate/",
        views.InvestigationTerminateView.as_view(),
        name="api_investigation_terminate",
    ),
    path("actions/<int:action_id>/", views.ActionDetailView.as_view(), name="api_action_detail"),
    path("actions/<int:action_id>/approve/", views.ActionApproveView.as_view(), name="api_action_approve"),
    path("actions/<int:action_id>/reject/", views.ActionRejectView.as_view(), name="api_action_reject"),
    path("actions/<int:action_id>/undo/", views.ActionUndoView.as_view(), name="api_action_undo"),
]

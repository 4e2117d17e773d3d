from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from airportal import views
from airportal.signin import SignInForm

api_v1 = [
    path("", include("alerts.api.urls")),
    path("", include("investigations.api.urls")),
]

urlpatterns = [
    path("", include("investigations.root_urls")),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("alerts/", include("alerts.urls")),
    path("users/", include("alerts.identity_urls")),
    path("", include("investigations.urls")),
    path("", include("airportal.admin_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api_docs",
    ),
]

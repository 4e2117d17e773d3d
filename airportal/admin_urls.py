"""Root-level pages of the audit log, the administration and the invitation link (no namespace)."""

from django.urls import path

from airportal import admin_views, audit_views

urlpatterns = [
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("administration/", admin_views.admin_home, name="admin_home"),
    path("administration/users/", admin_views.admin_users, name="admin_users"),
    path("administration/users/<int:pk>/role/", admin_views.admin_user_role, name="admin_user_role"),
    path("administration/users/<int:pk>/deactivate/", admin_views.admin_user_deactivate, name="admin_user_deactivate"),
    path("administration/users/<int:pk>/reactivate/", admin_views.admin_user_reactivate, name="admin_user_reactivate"),
    path(
        "administration/users/<int:pk>/password-link/",
        admin_views.admin_user_password_link,
        name="admin_user_password_link",
    ),
    path("administration/tokens/", admin_views.admin_tokens, name="admin_tokens"),
    path("administration/tokens/<int:pk>/revoke/", admin_views.admin_token_revoke, name="admin_token_revoke"),
    path("set-password/<uidb64>/<token>/", admin_views.PasswordSetView.as_view(), name="password_set"),
]

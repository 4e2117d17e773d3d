from django.apps import AppConfig


class AirPortalConfig(AppConfig):
    name = "airportal"
    verbose_name = "AIR Portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate

        from airportal.signin import audit_sign_in, audit_sign_in_failure

        user_logged_in.connect(audit_sign_in, dispatch_uid="airportal.audit_sign_in")
        user_login_failed.connect(audit_sign_in_failure, dispatch_uid="airportal.audit_sign_in_failure")
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="airportal.sync_roles")


def sync_roles(sender, **kwargs):
    """After migrate or flush (tests), the role groups are rebuilt from the role table."""
    from django.contrib.auth.models import Group, Permission

    from airportal.roles import role_groups_sync

    role_groups_sync(group_model=Group, permission_model=Permission)

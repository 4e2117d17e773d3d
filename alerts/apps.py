from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(ensure_default_policies, sender=self, dispatch_uid="alerts.ensure_default_policies")
        post_migrate.connect(ensure_event_partitions, sender=self, dispatch_uid="alerts.ensure_event_partitions")

        from airportal.admin_panels import admin_panel_register
        from alerts.retention import event_storage_summary

        admin_panel_register(
            key="event_storage", template="alerts/admin_event_storage.html", context=event_storage_summary
        )


def ensure_default_policies(sender, **kwargs):
    """After migrate or flush (tests), every detector has a policy; existing policies are kept."""
    from alerts.services.policies import policy_defaults_ensure

    policy_defaults_ensure()


def ensure_event_partitions(sender, using="default", **kwargs):
    """After migrate, the events table has its partitions ahead (PostgreSQL; nothing on SQLite)."""
    from alerts.partitions import event_partitions_ensure

    if using == "default":
        event_partitions_ensure()

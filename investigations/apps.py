from django.apps import AppConfig


class InvestigationsConfig(AppConfig):
    name = "investigations"
    verbose_name = "Investigations"

    def ready(self):
        from investigations import receivers  # noqa: F401 - connects the alert_raised receiver
        from investigations.console import console_hooks_install
        from investigations.notifications import receivers as notification_receivers  # noqa: F401

        console_hooks_install()

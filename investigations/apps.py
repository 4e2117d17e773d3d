from django.apps import AppConfig


class InvestigationsConfig(AppConfig):
    name = "investigations"
    verbose_name = "Investigations"

    def ready(self):
        from investigations import receivers  # noqa: F401 - connects the alert_raised receiver
        from investigations.notifications import receivers as notification_receivers  # noqa: F401
        from investigations.selectors.console_hooks import console_hooks_install

        console_hooks_install()

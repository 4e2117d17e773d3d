from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo tenant (``loaddemo``) and the simulated Microsoft 365 tenant the ``simulated``
    connector acts on. Installed by default for the quick start and the tests; no production
    module imports it, it follows the investigations app through its signals."""

    name = "demo"
    verbose_name = "Demo and simulated tenant"

    def ready(self):
        from demo import receivers  # noqa: F401 - connects the playbook_starting receiver

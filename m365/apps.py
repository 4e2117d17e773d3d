from django.apps import AppConfig


class M365AppConfig(AppConfig):
    name = "m365"
    verbose_name = "Microsoft 365"

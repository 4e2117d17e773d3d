"""M365Connection moves from ``alerts`` to ``m365``: the state only, the table keeps its name.

On a database that already has the row, its content type is renamed too (no stale ``alerts`` one).
Audit rows keep the ``object_type`` they were written with (the audit log is append-only).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_move(apps, schema_editor, *, source: str, target: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=target, model="m365connection").exists():
        content_type.objects.filter(app_label=source, model="m365connection").update(app_label=target)


def forwards(apps, schema_editor):
    content_type_move(apps, schema_editor, source="alerts", target="m365")


def backwards(apps, schema_editor):
    content_type_move(apps, schema_editor, source="m365", target="alerts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("alerts", "0006_m365_credential_hint_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="M365Connection",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("tenant_id", models.CharField(blank=True, max_length=64)),
                        ("client_id", models.CharField(blank=True, max_length=64)),
                        (
                            "credential_kind",
                            models.CharField(
                                blank=True,
                                choices=[("", "None"), ("secret", "Client secret"), ("certificate", "Certificate")],
                                default="",
                                max_length=16,
                            ),
                        ),
                        (
                            "credential_encrypted",
                            models.TextField(blank=True, help_text="Fernet token of the secret or the PEM."),
                        ),
                        (
                            "credential_hint",
                            models.CharField(
                                blank=True,
                                help_text="What the admin may see: the secret's last characters, the thumbprint.",
                                max_length=128,
                            ),
                        ),
                        (
                            "feeds",
                            models.JSONField(blank=True, default=list, help_text="Enabled feeds (M365Feed values)."),
                        ),
                        (
                            "cycle_started_at",
                            models.DateTimeField(
                                blank=True,
                                help_text="Set while a pull cycle runs, so two cycles never overlap.",
                                null=True,
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "Microsoft 365 connection",
                        "db_table": "alerts_m365connection",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]

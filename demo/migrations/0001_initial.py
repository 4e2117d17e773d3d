"""The simulated tenant's models, moved here from the investigations app in state only: their
tables were created by investigations 0002/0004 and keep their names (``Meta.db_table``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("alerts", "0011_m365connection_to_m365"),
        ("investigations", "0006_simulated_tenant_to_demo"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SimulatedOperation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("idempotency_key", models.CharField(max_length=64, unique=True)),
                        ("kind", models.CharField(max_length=32)),
                        ("undo", models.BooleanField(default=False)),
                        ("target", models.CharField(blank=True, max_length=512)),
                        ("calls", models.PositiveIntegerField(default=0)),
                        ("applied_at", models.DateTimeField(blank=True, null=True)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("last_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "investigations_simulatedoperation",
                        "ordering": ["id"],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedAccount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        ("sending_restricted", models.BooleanField(default=False)),
                        ("forwarding_address", models.CharField(blank=True, max_length=320)),
                        ("deliver_to_mailbox_and_forward", models.BooleanField(default=True)),
                        ("password_changed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "synced_event_id",
                            models.BigIntegerField(default=0, help_text="The last event mirrored into this account."),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "identity",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="simulated_account",
                                to="alerts.identity",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "investigations_simulatedaccount",
                        "ordering": ["identity_id"],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedFault",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(blank=True, max_length=32)),
                        (
                            "mode",
                            models.CharField(
                                choices=[
                                    ("throttle", "429 Too Many Requests (with Retry-After)"),
                                    ("unavailable", "503 Service Unavailable"),
                                    ("refuse", "403 Forbidden (permanent)"),
                                    ("slow_before", "Answer slowly, before acting"),
                                    ("slow_after", "Act, then answer slowly"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("remaining", models.PositiveIntegerField(default=1)),
                        ("retry_after", models.FloatField(blank=True, help_text="Seconds, for throttle.", null=True)),
                        ("delay_seconds", models.FloatField(default=0, help_text="For the slow modes.")),
                        ("message", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "investigations_simulatedfault",
                        "ordering": ["id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("mode__in", ["throttle", "unavailable", "refuse", "slow_before", "slow_after"])
                                ),
                                name="simfault_mode_valid",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedInboxRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=256)),
                        ("enabled", models.BooleanField(default=True)),
                        ("parameters", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField()),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="inbox_rules",
                                to="demo.simulatedaccount",
                            ),
                        ),
                        (
                            "source_event",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="alerts.event",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "investigations_simulatedinboxrule",
                        "ordering": ["account_id", "name"],
                        "constraints": [
                            models.UniqueConstraint(fields=("account", "name"), name="siminboxrule_unique_name")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedMailboxPermission",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("delegate", models.CharField(max_length=320)),
                        ("access_rights", models.CharField(max_length=64)),
                        ("granted_at", models.DateTimeField()),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="permissions",
                                to="demo.simulatedaccount",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "investigations_simulatedmailboxpermission",
                        "ordering": ["account_id", "delegate", "access_rights"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("account", "delegate", "access_rights"), name="simpermission_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("sender", models.CharField(max_length=320)),
                        ("subject", models.CharField(blank=True, max_length=512)),
                        ("internet_message_id", models.CharField(blank=True, max_length=512)),
                        ("received_at", models.DateTimeField()),
                        ("soft_deleted_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="messages",
                                to="demo.simulatedaccount",
                            ),
                        ),
                        (
                            "source_event",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="alerts.event",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "investigations_simulatedmessage",
                        "ordering": ["-received_at", "-id"],
                        "indexes": [models.Index(fields=["sender", "subject"], name="simmessage_sender_subject_idx")],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("source_event__isnull", False)),
                                fields=("account", "source_event"),
                                name="simmessage_once_per_event",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SimulatedSession",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("app", models.CharField(blank=True, max_length=256)),
                        ("started_at", models.DateTimeField()),
                        ("last_seen_at", models.DateTimeField()),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="sessions",
                                to="demo.simulatedaccount",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "investigations_simulatedsession",
                        "ordering": ["started_at", "id"],
                        "indexes": [models.Index(fields=["account", "revoked_at"], name="simsession_account_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

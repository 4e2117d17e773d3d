"""Alerts (and their events) that name no user: a Defender alert on a device or an app.

On PostgreSQL only ``NOT NULL`` is dropped: Django's ``AlterField`` would also drop and re-add the
foreign key, which re-validates every row of the (partitioned, large) events table under lock.
"""

import django.db.models.deletion
from django.db import migrations, models


class DropNotNull(migrations.AlterField):
    """``AlterField`` to ``null=True`` that, on PostgreSQL, only drops the column's ``NOT NULL``."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        schema_editor.execute(self._sql(to_state, app_label, schema_editor, "DROP"))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        schema_editor.execute(self._sql(from_state, app_label, schema_editor, "SET"))

    def _sql(self, state, app_label, schema_editor, verb):
        model = state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        column = model._meta.get_field(self.name).column
        return f"ALTER TABLE {quote(model._meta.db_table)} ALTER COLUMN {quote(column)} {verb} NOT NULL"


class Migration(migrations.Migration):
    dependencies = [("alerts", "0016_alert_open_fold_index")]

    operations = [
        DropNotNull(
            model_name="alert",
            name="identity",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="alerts",
                to="alerts.identity",
            ),
        ),
        DropNotNull(
            model_name="event",
            name="identity",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="alerts.identity",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("identity__isnull", True)),
                fields=("detector", "dedup_key"),
                name="alert_fold_unattributed_unique",
            ),
        ),
    ]

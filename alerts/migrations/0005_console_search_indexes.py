"""Trigram indexes for the console's search and the queue's "contains" filter (PostgreSQL only).

Both use Django's ``icontains``, which PostgreSQL runs as ``UPPER(col::text) LIKE UPPER('%…%')``;
a GIN trigram index on ``UPPER(col)`` answers that without reading the table. SQLite has no
such index and keeps scanning, which is fine at the sizes SQLite is meant for.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class PostgresOnly(migrations.operations.base.Operation):
    """Run ``operation`` on PostgreSQL only; the model state does not record it (no Meta change)."""

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (PostgreSQL only)"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {})


def trigram(table: str, column: str, name: str) -> PostgresOnly:
    # Plain SQL: the expression must read exactly UPPER(column) for the planner to match it.
    return PostgresOnly(
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (UPPER("{column}") gin_trgm_ops)',
            reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
        )
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_default_policies")]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm; a no-op on other databases
        trigram("alerts_event", "subject", "event_subject_trgm"),
        trigram("alerts_event", "target", "event_target_trgm"),
        trigram("alerts_alert", "title", "alert_title_trgm"),
        trigram("alerts_identity", "upn", "identity_upn_trgm"),
    ]

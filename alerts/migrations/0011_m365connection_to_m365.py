"""M365Connection now lives in the ``m365`` app (its 0001 takes over the state and the table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0010_partitioned_events"),
        ("m365", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="M365Connection")],
            database_operations=[],
        ),
    ]

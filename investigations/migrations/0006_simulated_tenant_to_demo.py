"""The simulated tenant's models move to the demo app: gone from this app's state, tables kept
(the demo app's 0001 takes them over under the same names)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("investigations", "0005_verdict_rule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SimulatedSession"),
                migrations.DeleteModel(name="SimulatedInboxRule"),
                migrations.DeleteModel(name="SimulatedMailboxPermission"),
                migrations.DeleteModel(name="SimulatedMessage"),
                migrations.DeleteModel(name="SimulatedOperation"),
                migrations.DeleteModel(name="SimulatedFault"),
                migrations.DeleteModel(name="SimulatedAccount"),
            ],
            database_operations=[],
        ),
    ]

"""Folding reads the open alerts of a detector and identity within reach of a finding: a partial
index over open alerts only, so the identity's closed alerts (which only grow) are not read."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0015_event_kind_risk_detection"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "in_progress"])),
                fields=["detector", "identity", "last_activity_at"],
                name="alert_open_fold_idx",
            ),
        ),
    ]

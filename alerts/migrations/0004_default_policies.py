"""The nine default alert policies, one per detector, with the detectors' default parameters."""

from django.db import migrations


def create_default_policies(apps, schema_editor):
    from alerts.services.policies import policy_defaults_ensure

    policy_defaults_ensure(
        policy_model=apps.get_model("alerts", "AlertPolicy"),
        version_model=apps.get_model("alerts", "AlertPolicyVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_detection")]

    operations = [migrations.RunPython(create_default_policies, migrations.RunPython.noop)]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("demo", "0002_consents_mfa_methods_devices_folder_permissions")]

    operations = [
        migrations.AddField(
            model_name="simulatedinboxrule",
            name="hidden",
            field=models.BooleanField(
                default=False, help_text="Left out by Outlook and Get-InboxRule; only -IncludeHidden lists it."
            ),
        ),
    ]

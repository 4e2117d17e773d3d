from django.db import migrations


class Migration(migrations.Migration):
    """The unmanaged permission holder is renamed so ``Capability`` names one thing (the enum in roles).

    RenameModel keeps the content type (renamed in place), so the permissions and the role
    groups that hold them are untouched.
    """

    dependencies = [("airportal", "0006_event_retention_days")]

    operations = [migrations.RenameModel("Capability", "CapabilityPermission")]

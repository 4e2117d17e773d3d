"""On PostgreSQL the audit log is append-only in the database itself: UPDATE and DELETE raise.

TRUNCATE stays possible for the database owner (test suites flush tables with it).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION airportal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER airportal_audit_append_only
    BEFORE UPDATE OR DELETE ON airportal_auditentry
    FOR EACH ROW EXECUTE FUNCTION airportal_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS airportal_audit_append_only ON airportal_auditentry;
DROP FUNCTION IF EXISTS airportal_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("airportal", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]

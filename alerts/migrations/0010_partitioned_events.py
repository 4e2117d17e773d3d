"""Events partitioned by time on PostgreSQL (``alerts.partitions``); SQLite keeps a plain table.

1. Relations to events lose their database foreign key (``Alert.events`` here; the investigations
   app's in its 0004): PostgreSQL refuses a foreign key to a partitioned table unless it names
   the partition key too. What they point at is kept by retention (``alerts.retention``).
2. The two unique keys of events gain ``occurred_at`` (PostgreSQL enforces a unique key on a
   partitioned table only when it holds the partition key).
3. On PostgreSQL the table is rebuilt partitioned, with its data: the plain table is renamed, a
   partitioned ``alerts_event`` created like it (columns, defaults, the id sequence), with a
   default partition and the partitions of every month from the oldest event to a few months
   ahead; the rows are copied (ids kept), the old table dropped, then its indexes and
   constraints re-created under the same names (on a partitioned table each becomes one per
   partition). The table is locked meanwhile; at about 1 M rows a minute plus the index builds,
   a large table wants a maintenance window (docs/scaling.md). Reversible the same way.
"""

from django.db import migrations, models
from django.utils import timezone

TABLE = "alerts_event"
OLD = "alerts_event_rebuild"


def _definitions(cursor) -> tuple[list[str], list[str]]:
    """The table's index definitions (not those of constraints) and constraint clauses (not the
    primary key and checks, which CREATE TABLE … LIKE carries), as SQL to re-create them."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [TABLE, TABLE],
    )
    indexes = [definition.replace(" ON ONLY ", " ON ") for (definition,) in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY conname",
        [TABLE],
    )
    constraints = [f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {clause}' for name, clause in cursor.fetchall()]
    return indexes, constraints


def _rebuild(schema_editor, *, partitioned: bool) -> None:
    from alerts.partitions import DEFAULT_PARTITION, event_partitions, event_partitions_ensure, partition_indexes_name

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        indexes, constraints = _definitions(cursor)
        cursor.execute(f'SELECT min(occurred_at), pg_get_serial_sequence(%s, %s) FROM "{TABLE}"', [TABLE, "id"])  # noqa: S608
        oldest, sequence = cursor.fetchone()
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE])
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{cursor.fetchone()[0]}" TO "{OLD}_pkey"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
        cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{OLD}_id_seq"')
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{OLD}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS '
            "INCLUDING STORAGE INCLUDING COMMENTS)" + (" PARTITION BY RANGE (occurred_at)" if partitioned else "")
        )
        key = "id, occurred_at" if partitioned else "id"
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ({key})')
        if partitioned:
            cursor.execute(f'CREATE TABLE "{DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT')
            event_partitions_ensure(since=oldest or timezone.now())
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{OLD}" ORDER BY occurred_at')  # noqa: S608
        cursor.execute(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(max(id), 0) + 1, false) FROM "{TABLE}"',  # noqa: S608
            [TABLE, "id"],
        )
        cursor.execute(f'DROP TABLE "{OLD}" CASCADE')
        for statement in indexes + constraints:
            cursor.execute(statement)
        if partitioned:
            for partition in event_partitions():
                partition_indexes_name(partition.name)
        cursor.execute(f'ANALYZE "{TABLE}"')


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _rebuild(schema_editor, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    # The relations to events of the other apps must have lost their foreign keys first.
    dependencies = [("alerts", "0009_detection_ledger"), ("investigations", "0004_events_without_db_constraint")]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="events",
            field=models.ManyToManyField(blank=True, db_constraint=False, related_name="alerts", to="alerts.event"),
        ),
        migrations.RemoveConstraint(model_name="event", name="event_source_record_unique"),
        migrations.RemoveConstraint(model_name="event", name="event_dedup_key_unique"),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("source", "source_record_id", "occurred_at"), name="event_source_record_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dedup_key__isnull", False)),
                fields=("dedup_key", "occurred_at"),
                name="event_dedup_key_unique",
            ),
        ),
        migrations.RunPython(partition, unpartition),
    ]

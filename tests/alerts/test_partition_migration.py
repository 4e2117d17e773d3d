"""The migration from today's plain events table to the partitioned one, on a database with events in it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.ingest import ingest_records
from alerts.models import Alert, Event
from alerts.partitions import event_partitions, is_partitioned
from tests.alerts.ingest.test_service import audit_logon

BEFORE = [("alerts", "0009_detection_ledger")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM alerts_event WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_events_of_a_plain_table_are_found_in_their_partitions_after_migrating(require_postgres):
    now = datetime.now(UTC)
    times = [now - timedelta(days=days) for days in (100, 35, 1)] + [datetime(2024, 3, 1, 10, tzinfo=UTC)]
    executor = _migrate(BEFORE)
    try:
        assert not is_partitioned()
        old = executor.loader.project_state(BEFORE).apps
        identity = old.get_model("alerts", "Identity").objects.create(upn="megan@contoso.com")
        events = [
            old.get_model("alerts", "Event").objects.create(
                identity=identity,
                occurred_at=at,
                kind="signin",
                source="o365-audit",
                source_record_id=f"audit-r{n}",
                dedup_key=f"signin:r{n}",
            )
            for n, at in enumerate(times)
        ]
        alert = old.get_model("alerts", "Alert").objects.create(
            identity=identity,
            detector="suspicious_signin",
            title="Sign-in",
            severity="high",
            dedup_key="k",
            first_activity_at=times[0],
            last_activity_at=times[0],
        )
        alert.events.add(events[0])
    finally:
        _migrate(None)

    assert is_partitioned()
    assert sorted(Event.objects.values_list("id", "occurred_at")) == sorted((e.id, e.occurred_at) for e in events)
    for event in events[:3]:
        assert _partition_of(event.id) == f"alerts_event_p{event.occurred_at:%Y%m01}"
    assert [p.start for p in event_partitions() if p.start][0] <= datetime(2024, 3, 1, tzinfo=UTC)
    assert list(Alert.objects.get(pk=alert.pk).events.values_list("id", flat=True)) == [events[0].id]

    # Re-ingesting a record stored before the migration is still a no-op; new rows get new ids.
    again = ingest_records(
        source="o365-audit",
        records=[audit_logon("r3", CreationTime="2024-03-01T10:00:00"), audit_logon("new")],
    )
    assert (again.created, again.duplicates) == (1, 1)
    assert Event.objects.get(source_record_id="audit-new").id > max(e.id for e in events)


@pytest.mark.django_db(transaction=True)
def test_the_migration_goes_back_to_a_plain_table_with_the_events(require_postgres):
    event = ingest_records(source="o365-audit", records=[audit_logon("r1")]).event_ids[0]
    try:
        _migrate(BEFORE)
        assert not is_partitioned()
        with connection.cursor() as cursor:
            cursor.execute("SELECT source_record_id FROM alerts_event WHERE id = %s", [event])
            assert cursor.fetchone() == ("audit-r1",)
    finally:
        _migrate(None)
    assert Event.objects.filter(pk=event).exists()

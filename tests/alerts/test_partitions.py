"""Time partitions of the events table (PostgreSQL): created ahead, rows routed, keys kept, plans pruned."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from alerts.ingest import ingest_records
from alerts.models import Event
from alerts.partitions import DEFAULT_PARTITION, event_partitions, event_partitions_ensure, is_partitioned
from tests.alerts.ingest.test_service import audit_logon, graph_signin
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM alerts_event WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def _names() -> list[str]:
    return [p.name for p in event_partitions()]


def test_sqlite_keeps_a_plain_table():
    if connection.vendor == "postgresql":
        pytest.skip("about SQLite")
    assert not is_partitioned()
    assert event_partitions() == []
    assert event_partitions_ensure() == []


def test_migrate_leaves_the_current_month_and_three_ahead_plus_a_default(require_postgres):
    assert is_partitioned()
    now = datetime.now(UTC)
    months = [p.start for p in event_partitions() if p.start]
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert first in months
    assert len([m for m in months if m > first]) >= 3
    assert event_partitions()[-1].name == DEFAULT_PARTITION


def test_ensure_creates_what_is_missing_once(require_postgres):
    later = datetime.now(UTC) + timedelta(days=200)
    created = event_partitions_ensure(now=later, ahead=1)
    assert created and all(name.startswith("alerts_event_p") for name in created)
    assert event_partitions_ensure(now=later, ahead=1) == []
    starts = [p.start for p in event_partitions() if p.start]
    ends = [p.end for p in event_partitions() if p.end]
    assert starts[1:] == ends[:-1], "partitions are contiguous, without overlap"


def test_an_event_lands_in_its_month(require_postgres):
    now = datetime.now(UTC)
    event = EventFactory(occurred_at=now)
    assert _partition_of(event.pk) == f"alerts_event_p{now:%Y%m01}"


def test_a_backfill_older_than_every_partition_lands_in_the_default_and_moves_when_its_month_is_made(
    require_postgres,
):
    old = datetime.now(UTC) - timedelta(days=40)
    event = EventFactory(occurred_at=old)
    if _partition_of(event.pk) != DEFAULT_PARTITION:
        pytest.skip("the month of 40 days ago already has a partition in this database")
    created = event_partitions_ensure()
    assert f"alerts_event_p{old:%Y%m01}" in created
    assert _partition_of(event.pk) == f"alerts_event_p{old:%Y%m01}"
    assert Event.objects.get(pk=event.pk).occurred_at == old


def test_weekly_partitions_start_where_the_monthly_ones_end(require_postgres, settings):
    settings.EVENT_PARTITION_INTERVAL = "week"
    last_end = max(p.end for p in event_partitions() if p.end)
    created = event_partitions_ensure(now=last_end + timedelta(days=15), ahead=0)
    new = [p for p in event_partitions() if p.name in created]
    assert new[0].start == last_end
    assert all(p.start.weekday() == 0 for p in new[1:]), "after the bridge, weeks start on Mondays"
    assert all((p.end - p.start) <= timedelta(days=7) for p in new)


def test_reingesting_is_a_no_op_on_the_partitioned_table(require_postgres):
    records = [audit_logon("r1"), audit_logon("r2")]
    first = ingest_records(source="o365-audit", records=records)
    again = ingest_records(source="o365-audit", records=records)
    assert (first.created, again.created, again.duplicates) == (2, 0, 2)
    assert Event.objects.count() == 2


def test_the_same_sign_in_a_second_apart_from_two_sources_is_stored_once(require_postgres):
    ingest_records(source="o365-audit", records=[audit_logon()])
    graph = ingest_records(source="entra-signins", records=[graph_signin()])
    assert (graph.created, graph.duplicates) == (0, 1)
    assert Event.objects.get().source == "o365-audit"


def test_a_time_range_reads_only_its_partitions(require_postgres):
    now = datetime.now(UTC)
    query = Event.objects.filter(occurred_at__gte=now - timedelta(hours=1), occurred_at__lt=now)
    plan = query.explain()
    assert f"alerts_event_p{now:%Y%m01}" in plan
    assert f"alerts_event_p{(now + timedelta(days=40)):%Y%m01}" not in plan


def test_a_record_sent_again_with_another_time_within_a_day_is_a_duplicate():
    first = ingest_records(source="o365-audit", records=[audit_logon("r1")])
    moved = ingest_records(source="o365-audit", records=[audit_logon("r1", CreationTime="2024-03-01T10:05:00")])
    later = ingest_records(source="o365-audit", records=[audit_logon("r1", CreationTime="2024-03-03T10:00:00")])
    assert (first.created, moved.created, moved.duplicates, later.created) == (1, 0, 1, 1)

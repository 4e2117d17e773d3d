"""Retention of events: older than the admin's setting goes, evidence stays.

Evidence is every event something links to: an alert's events, a finding's events (so everything
an investigation shows), a simulated tenant row's source event. The links are found from the
models (every relation to ``Event``), so this app knows nothing of the apps that link to it.
Evidence is *pinned*, not copied: it stays in the events table with its id, so every page and API
that shows it works unchanged years later, and nothing can disagree with a copy.

On PostgreSQL a partition wholly older than the cutoff is dropped, after its evidence is put back
(it lands in the default partition, which no longer has a partition covering its time); rows are
never deleted one by one from a partition (that would bloat it), so an event is kept up to one
partition period past retention. The default partition and a plain table (SQLite) are purged by
batched DELETEs of ``BATCH`` rows, each its own short transaction. The audit log is a
different table and is never purged; every purge that removed something writes an audit row.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from airportal.audit import audit_record
from airportal.models import PortalSettings
from alerts.models import Event
from alerts.partitions import DEFAULT_PARTITION, event_partition_drop, event_partitions, is_partitioned, period_start

BATCH = 5000


@dataclass
class PurgeResult:
    cutoff: datetime
    partitions_dropped: list[str] = field(default_factory=list)
    rows_dropped: int = 0
    rows_deleted: int = 0
    evidence_kept: int = 0


def retention_days() -> int:
    """The admin's setting; its default while nobody has saved the settings (read, never created)."""
    saved = PortalSettings.objects.filter(pk=1).values_list("event_retention_days", flat=True).first()
    return saved or PortalSettings._meta.get_field("event_retention_days").default


def retention_cutoff(*, now: datetime | None = None) -> datetime:
    """Events that occurred before this instant are past retention."""
    return (now or timezone.now()) - timedelta(days=retention_days())


def _links() -> list[tuple[str, str]]:
    """``(table, column)`` of every foreign key to Event, many-to-many tables included."""
    links = []
    for relation in Event._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one):
            links.append((relation.related_model._meta.db_table, relation.field.column))
    return sorted(set(links))


def unlinked_sql(alias: str) -> str:
    """A condition true for an event (``alias.id``) nothing links to: anti-joins, which PostgreSQL
    runs as hash or index anti-joins whatever the number of links (``NOT IN`` over a large
    subquery would be re-scanned per row once it outgrows ``work_mem``)."""
    quote = connection.ops.quote_name
    return " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {quote(table)} AS link WHERE link.{quote(column)} = {alias}.id)"  # noqa: S608
        for table, column in _links()
    )


def evidence_ids_sql() -> str:
    """A SELECT of the ids of every event something links to."""
    quote = connection.ops.quote_name
    return " UNION ".join(
        f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL"  # noqa: S608
        for table, column in _links()
    )


def events_purge(*, now: datetime | None = None) -> PurgeResult:
    """Remove the events past retention that nothing links to (the beat task ``alerts.events_purge``)."""
    result = PurgeResult(cutoff=retention_cutoff(now=now))
    keep = evidence_ids_sql()
    lock_tables = [table for table, _ in _links()]
    for partition in event_partitions():
        if partition.end is not None and partition.end <= result.cutoff:
            kept = event_partition_drop(partition, keep_sql=keep, lock_tables=lock_tables)
            result.partitions_dropped.append(partition.name)
            result.evidence_kept += kept
            result.rows_dropped += max(partition.rows - kept, 0)
    table = DEFAULT_PARTITION if is_partitioned() else Event._meta.db_table
    result.rows_deleted = _delete_batches(table, result.cutoff)
    if result.partitions_dropped or result.rows_deleted:
        with transaction.atomic():
            audit_record(
                actor=None,
                verb="events.purged",
                summary=f"Events before {result.cutoff:%Y-%m-%d %H:%M} UTC purged; the evidence they hold kept.",
                changes={
                    "cutoff": result.cutoff.isoformat(),
                    "partitions_dropped": result.partitions_dropped,
                    "rows_dropped_estimate": result.rows_dropped,
                    "rows_deleted": result.rows_deleted,
                    "evidence_kept": result.evidence_kept,
                },
            )
    return result


def _delete_batches(table: str, cutoff: datetime) -> int:
    quote = connection.ops.quote_name
    sql = (
        f"DELETE FROM {quote(table)} WHERE id IN (SELECT ev.id FROM {quote(table)} AS ev "  # noqa: S608 - names
        f"WHERE ev.occurred_at < %s AND {unlinked_sql('ev')} LIMIT {BATCH})"
    )
    cutoff_value = connection.ops.adapt_datetimefield_value(cutoff)
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [cutoff_value])
            count = cursor.rowcount
        deleted += count
        if count < BATCH:
            return deleted


@dataclass(frozen=True)
class MonthVolume:
    month: datetime
    rows: int
    bytes: int | None  # on-disk size of the month's partitions with their indexes (PostgreSQL)
    estimated: bool


def event_volume_by_month() -> list[MonthVolume]:
    """Events per month, oldest first. On PostgreSQL the partitions' sizes come from their
    statistics (no scan of the table; weekly partitions count in the month they start in) and the
    default partition, small by design, is counted."""
    partitions = event_partitions()
    if not partitions:
        rows = Event.objects.annotate(month=TruncMonth("occurred_at")).values("month").annotate(rows=Count("id"))
        return [MonthVolume(row["month"], row["rows"], None, False) for row in rows.order_by("month")]
    months: dict[datetime, list] = {}
    for partition in partitions:
        if partition.start is not None:
            rows = partition.rows if partition.rows >= 0 else _count(partition.name)
            total = months.setdefault(period_start(partition.start, "month"), [0, 0])
            total[0] += rows
            total[1] += partition.bytes
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date_trunc('month', occurred_at), count(*) FROM {connection.ops.quote_name(DEFAULT_PARTITION)} "  # noqa: S608
            "GROUP BY 1"
        )
        for month, rows in cursor.fetchall():
            months.setdefault(month, [0, None])[0] += rows
    return [MonthVolume(month, rows, size, True) for month, (rows, size) in sorted(months.items()) if rows]


def _count(table: str) -> int:
    """An exact count, for a partition never analysed yet (a new one, hence small)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a partition name
        return cursor.fetchone()[0]


def events_next_purge(*, now: datetime | None = None) -> datetime | None:
    """When the oldest events that nothing links to pass retention (the hourly purge removes them
    then; on PostgreSQL when the oldest partition holding events ends); None when there are none."""
    days = timedelta(days=retention_days())
    candidates = []
    quote = connection.ops.quote_name
    for partition in event_partitions():
        if partition.end is None:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(partition.name)})")  # noqa: S608 - a partition
            if cursor.fetchone()[0]:
                candidates.append(partition.end + days)
                break
    table = DEFAULT_PARTITION if candidates or is_partitioned() else Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(ev.occurred_at) FROM {quote(table)} AS ev WHERE {unlinked_sql('ev')}"  # noqa: S608
        )
        oldest = cursor.fetchone()[0]
    if oldest is not None:
        candidates.append(_aware(oldest) + days)
    return min(candidates) if candidates else None


def _aware(value) -> datetime:
    """SQLite hands a raw query's timestamp back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event_storage_summary() -> dict:
    """The Administration page's event-storage panel: retention, the next purge, the volume per month."""
    return {
        "retention_days": retention_days(),
        "next_purge": events_next_purge(),
        "event_volume": event_volume_by_month(),
        "now": timezone.now(),
    }

"""Time partitions of the events table on PostgreSQL.

``alerts_event`` is range-partitioned by ``occurred_at``: one partition per calendar month (UTC), or
per ISO week when ``EVENT_PARTITION_INTERVAL=week``, named ``alerts_event_p<YYYYMMDD>`` after its
first day, plus the default partition ``alerts_event_default``. The default holds what no partition
covers: a backfill older than the oldest partition, an event dated past the newest one, and the
evidence that retention keeps when it drops a partition (``alerts.retention``). Ingest therefore
never fails for want of a partition, and creating a partition moves the default's rows of its range
into it.

Callers see one table: the ORM, queries and the indexes (partitioned indexes, one per partition)
are unchanged, and a query with a time filter reads only the partitions it needs. SQLite (and a
PostgreSQL database still on the plain table) has no partitions: every function here then does
nothing.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

TABLE = "alerts_event"
DEFAULT_PARTITION = f"{TABLE}_default"
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    """One partition; ``start``/``end`` are None for the default partition. ``rows`` is the
    planner's estimate (``pg_class.reltuples``, kept by autovacuum/ANALYZE; -1 before either ran)."""

    name: str
    start: datetime | None
    end: datetime | None
    rows: int
    bytes: int


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def period_start(at: datetime, interval: str | None = None) -> datetime:
    """The first instant of the month (or ISO week) that contains ``at``, in UTC."""
    at = at.astimezone(UTC)
    if (interval or settings.EVENT_PARTITION_INTERVAL) == "week":
        day = at - timedelta(days=at.weekday())
        return day.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_next(start: datetime, interval: str | None = None) -> datetime:
    """The start of the period after the one that begins at ``start``."""
    if (interval or settings.EVENT_PARTITION_INTERVAL) == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def event_partitions() -> list[Partition]:
    """Every partition, oldest first and the default last; empty when the table is not partitioned."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound, estimate, size in rows:
        match = _BOUND.search(bound)
        start, end = (_timestamp(match[1]), _timestamp(match[2])) if match else (None, None)
        partitions.append(Partition(name, start, end, int(estimate), int(size)))
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(partitions, key=lambda p: p.start or latest)


def _timestamp(text: str) -> datetime:
    # pg_get_expr prints the bound in the session's time zone, with a "+00" style offset.
    return datetime.fromisoformat(text + (":00" if re.search(r"[+-]\d\d$", text) else "")).astimezone(UTC)


def event_partitions_ensure(
    *, now: datetime | None = None, ahead: int | None = None, since: datetime | None = None
) -> list[str]:
    """Create the partitions of the current period and ``ahead`` periods after it (default
    ``EVENT_PARTITIONS_AHEAD``), of every period since the newest partition, and of every period
    since ``since`` (default: the oldest row the default partition holds within retention); the
    names created. Idempotent; a period partly covered by an existing partition (after switching
    from months to weeks) gets a partition for the uncovered part."""
    if not is_partitioned():
        return []
    now = now or datetime.now(UTC)
    ahead = settings.EVENT_PARTITIONS_AHEAD if ahead is None else ahead
    horizon = period_start(now)
    for _ in range(ahead + 1):
        horizon = period_next(horizon)
    covered = [(p.start, p.end) for p in event_partitions() if p.start is not None]
    # From the newest partition's end when that is past (the beat was stopped), so none is skipped.
    start = period_start(min(now, *[end for _, end in covered[-1:]], since or _oldest_in_default(now) or now))
    created = []
    moment = start
    while moment < horizon:
        inside = next((end for begin, end in covered if begin <= moment < end), None)
        if inside is not None:
            moment = inside
            continue
        later = [begin for begin, _ in covered if begin > moment]
        end = min([period_next(period_start(moment)), horizon, *later])
        created.append(_partition_create(moment, end))
        moment = end
    return created


def _oldest_in_default(now: datetime) -> datetime | None:
    """The oldest event of the default partition still inside retention (evidence kept past
    retention stays in the default: no partition is made for it)."""
    from alerts.retention import retention_cutoff

    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT min(occurred_at) FROM "{DEFAULT_PARTITION}" WHERE occurred_at >= %s',  # noqa: S608 - constant
            [retention_cutoff(now=now)],
        )
        return cursor.fetchone()[0]


def _partition_create(start: datetime, end: datetime) -> str:
    """Create the partition ``[start, end)``, moving the default partition's rows of that range into it."""
    name = f"{TABLE}_p{start:%Y%m%d}"
    bounds = [start, end]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT_PARTITION}" WHERE occurred_at >= %s AND occurred_at < %s)',  # noqa: S608
            bounds,
        )
        moving = cursor.fetchone()[0]
        if moving:
            cursor.execute(f'CREATE TEMP TABLE "partition_move" (LIKE "{TABLE}") ON COMMIT DROP')
            cursor.execute(
                f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE occurred_at >= %s AND occurred_at < %s '  # noqa: S608
                'RETURNING *) INSERT INTO "partition_move" SELECT * FROM moved',
                bounds,
            )
        cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)', bounds)
        partition_indexes_name(name)
        if moving:
            cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "partition_move"')  # noqa: S608
            cursor.execute('DROP TABLE "partition_move"')
    return name


def event_partition_drop(partition: Partition, *, keep_sql: str, lock_tables: list[str]) -> int:
    """Drop a whole partition, first putting back the rows ``keep_sql`` (a SELECT of event ids)
    names; they land in the default partition, no partition covering their time any more. The
    tables in ``lock_tables`` (those that link to events) are locked against new links meanwhile,
    so no link can appear to a row being dropped. The number of rows kept."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        # A table with deferred foreign-key checks pending cannot be dropped: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in lock_tables:
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
        cursor.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{partition.name}"')
        cursor.execute(
            f'INSERT INTO "{TABLE}" SELECT * FROM "{partition.name}" WHERE id IN ({keep_sql})'  # noqa: S608
        )
        kept = cursor.rowcount
        cursor.execute(f'DROP TABLE "{partition.name}"')
    return kept


def partition_indexes_name(partition: str) -> None:
    """Name a partition's indexes after the table's (``event_time_idx_p20260101``), not PostgreSQL's
    generated names, so a query plan says which index of the table it used."""
    suffix = partition.removeprefix(f"{TABLE}_")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname, parent.relname FROM pg_index x "
            "JOIN pg_class child ON child.oid = x.indexrelid "
            "JOIN pg_inherits i ON i.inhrelid = x.indexrelid JOIN pg_class parent ON parent.oid = i.inhparent "
            "WHERE x.indrelid = %s::regclass",
            [partition],
        )
        for child, parent in cursor.fetchall():
            wanted = f"{parent[: 62 - len(suffix)]}_{suffix}"
            if child != wanted:
                cursor.execute(f'ALTER INDEX "{child}" RENAME TO "{wanted}"')

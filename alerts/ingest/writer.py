"""The batch INSERT of events: duplicates skipped by the database, new ids returned.

``(source, source_record_id, occurred_at)`` and ``(dedup_key, occurred_at)`` are unique (the time
is in both because PostgreSQL partitions events by it); ``ON CONFLICT DO NOTHING`` makes
PostgreSQL (and SQLite ≥ 3.35) skip duplicates, concurrent ingests included, and ``RETURNING``
says which rows are new. A record's time is part of the record, so re-ingesting it is a no-op.
Keys are also matched across times, within ``DEDUP_WINDOW``: the same sign-in from two sources
shares ``dedup_key`` but the two date it seconds apart, and a record re-sent with another time
(the demo tenant, dated relative to now) keeps its record id. Rows whose key is stored within
that window of their time are left out: on PostgreSQL inside the INSERT (an index probe per row,
reading only the partitions of its days), elsewhere by one query first. Two batches racing each
other with the same key at different times could both pass that check; with the same time, the
unique keys still hold. Rows go in ordered by record id, so concurrent batches lock alike.
"""

import hashlib
import io
import json
from collections.abc import Sequence
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from alerts.ingest.prepare import PreparedEvent
from alerts.models import Event

# The columns ingest fills, in the order it writes them; any other Event field gets its default.
_COLUMNS = (
    "identity", "occurred_at", "kind", "operation", "source", "source_record_id", "dedup_key", "ip", "country",
    "city", "latitude", "longitude", "app", "user_agent", "succeeded", "subject", "target", "attributes", "raw",
    "ingested_at",
)  # fmt: skip
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class EventWriter:
    def __init__(self, source: str):
        self.source = source
        fields = {field.name: field for field in Event._meta.concrete_fields if not field.primary_key}
        self.fields = [fields[name] for name in _COLUMNS] + [f for n, f in fields.items() if n not in _COLUMNS]
        self._extra = [
            field.get_db_prep_save(field.get_default(), connection) for field in self.fields[len(_COLUMNS) :]
        ]
        quote = connection.ops.quote_name
        self._table = quote(Event._meta.db_table)
        self._columns = ", ".join(quote(field.column) for field in self.fields)
        self._returning = f" ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('source_record_id')}"

    def insert(self, prepared: Sequence[PreparedEvent], identity_ids: dict[str, int]) -> list[tuple[int, str]]:
        """Insert what is new; ``[(id, source_record_id)]`` of the rows actually written. An event
        about no user (``upn`` None) is stored without an identity."""
        ordered = sorted(prepared, key=lambda item: item.event.source_record_id)
        if connection.vendor == "postgresql":
            return self._insert_staged(ordered, identity_ids) if ordered else []
        ordered = _without_stored_keys(ordered, self.source)
        return self._insert_values(ordered, identity_ids) if ordered else []

    def _insert_staged(self, ordered: list[PreparedEvent], identity_ids: dict[str, int]) -> list[tuple[int, str]]:
        """PostgreSQL: COPY the batch into a session-private staging table, then one
        ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``. A VALUES list of 5,000 rows costs
        more to parse and plan than to run; COPY does not, and its text format is cheap to write."""
        quote = connection.ops.quote_name
        stage = quote("ingest_stage_" + hashlib.sha1(self._columns.encode(), usedforsecurity=False).hexdigest()[:10])
        now = timezone.now().isoformat()
        source = _copy(self.source)
        extra = "".join("\t" + _copy(value) for value in self._extra)
        lines = []
        for item in ordered:
            e = item.event
            lines.append(
                f"{_copy(identity_ids.get(e.upn))}\t{e.occurred_at.isoformat()}\t{e.kind}\t{_copy(e.operation)}\t{source}\t"
                f"{_copy(e.source_record_id)}\t{_copy(e.dedup_key)}\t{e.ip or _NULL}\t{_copy(e.country)}\t"
                f"{_copy(e.city)}\t{_copy(e.latitude)}\t{_copy(e.longitude)}\t{_copy(e.app)}\t{_copy(e.user_agent)}\t"
                f"{_copy(e.succeeded)}\t{_copy(e.subject)}\t{_copy(e.target)}\t"
                f"{_copy_json(item.attributes_json)}\t{_copy_json(item.raw_json)}\t{now}{extra}\n"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {self._columns} FROM {self._table} WITH NO DATA"  # noqa: S608
            )
            cursor.execute(f"TRUNCATE {stage}")
            cursor.cursor.copy_expert(f"COPY {stage} ({self._columns}) FROM STDIN", io.StringIO("".join(lines)))
            cursor.execute(
                f"INSERT INTO {self._table} ({self._columns}) SELECT {self._columns} FROM {stage} AS s "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM {self._table} AS e WHERE e.source = s.source "
                "AND e.source_record_id = s.source_record_id AND e.occurred_at BETWEEN s.occurred_at - %s "
                f"AND s.occurred_at + %s) AND (s.dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM {self._table} AS e "
                "WHERE e.dedup_key = s.dedup_key AND e.occurred_at BETWEEN s.occurred_at - %s AND s.occurred_at + %s)) "
                f"ORDER BY {quote('source_record_id')}" + self._returning,
                [DEDUP_WINDOW] * 4,
            )
            return cursor.fetchall()

    def _insert_values(self, ordered: list[PreparedEvent], identity_ids: dict[str, int]) -> list[tuple[int, str]]:
        """Other databases (SQLite in development): multi-row VALUES within the parameter limit."""
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(timezone.now())
        rows = [
            [
                identity_ids.get(e.upn), adapt(e.occurred_at), e.kind, e.operation, self.source, e.source_record_id,
                e.dedup_key, e.ip, e.country, e.city, e.latitude, e.longitude, e.app, e.user_agent, e.succeeded,
                e.subject, e.target, item.attributes_json, item.raw_json, now, *self._extra,
            ]
            for item in ordered
            for e in (item.event,)
        ]  # fmt: skip
        placeholder = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        per_statement = max(
            1, (connection.features.max_query_params or len(rows) * len(self.fields)) // len(self.fields)
        )
        written: list[tuple[int, str]] = []
        with connection.cursor() as cursor:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(
                    f"INSERT INTO {self._table} ({self._columns}) VALUES "  # noqa: S608 - names from the model
                    + ", ".join([placeholder] * len(chunk))
                    + self._returning,
                    [value for row in chunk for value in row],
                )
                written.extend(cursor.fetchall())
        return written


_NULL = "\\N"
DEDUP_WINDOW = timedelta(days=1)


def _without_stored_keys(ordered: list[PreparedEvent], source: str) -> list[PreparedEvent]:
    """The rows whose record id (in ``source``) and ``dedup_key`` no stored event carries within
    ``DEDUP_WINDOW`` of their time."""
    events = [item.event for item in ordered]
    first = min(e.occurred_at for e in events) - DEDUP_WINDOW
    last = max(e.occurred_at for e in events) + DEDUP_WINDOW
    stored: dict[tuple[str, str], list] = {}
    keys = [("record", e.source_record_id) for e in events] + [("dedup", e.dedup_key) for e in events if e.dedup_key]
    step = max(1, (connection.features.max_query_params or len(keys)) - 4)
    for start in range(0, len(keys), step):
        chunk = keys[start : start + step]
        match = Q(source=source, source_record_id__in=[v for k, v in chunk if k == "record"])
        match |= Q(dedup_key__in=[v for k, v in chunk if k == "dedup"])
        rows = Event.objects.filter(match, occurred_at__gte=first, occurred_at__lte=last).values_list(
            "source", "source_record_id", "dedup_key", "occurred_at"
        )
        for row_source, record_id, dedup_key, at in rows:
            if row_source == source:
                stored.setdefault(("record", record_id), []).append(at)
            if dedup_key:
                stored.setdefault(("dedup", dedup_key), []).append(at)

    def known(kind: str, value, at) -> bool:
        return any(abs(seen - at) <= DEDUP_WINDOW for seen in stored.get((kind, value), ()))

    return [
        item
        for item in ordered
        if not known("record", item.event.source_record_id, item.event.occurred_at)
        and not (item.event.dedup_key and known("dedup", item.event.dedup_key, item.event.occurred_at))
    ]


def _copy_json(value: str) -> str:
    """JSON text from ``json.dumps`` has no raw tab or newline; only its backslashes need doubling."""
    return value.replace("\\", "\\\\")


def _copy(value) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return _NULL
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return (
            value.translate(_TEXT_ESCAPES)
            if ("\\" in value or "\t" in value or "\n" in value or "\r" in value)
            else value
        )
    if isinstance(value, dict | list):
        return json.dumps(value).translate(_TEXT_ESCAPES)
    return str(value)

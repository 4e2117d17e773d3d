"""The batch INSERT of events: duplicates skipped by the database, new ids returned.

``(source, source_record_id, occurred_at)`` and ``(dedup_key, occurred_at)`` are unique (the time
is in both because PostgreSQL partitions events by it); ``ON CONFLICT DO NOTHING`` makes
PostgreSQL (and SQLite ≥ 3.35) skip duplicates, concurrent ingests included, and ``RETURNING``
says which rows are new. A record's time is part of the record, so re-ingesting it is a no-op.
The same sign-in from two sources shares ``dedup_key`` but the two may date it seconds apart:
rows whose key is already stored within ``DEDUP_WINDOW`` of their time are left out (on
PostgreSQL inside the INSERT, an index probe per row that reads only the partitions of its days;
elsewhere one query first). Two such batches racing
each other could both pass that check; the first source to arrive normally wins by minutes.
Rows go in ordered by record id, so concurrent batches lock alike.
"""

import hashlib
import io
import json
from collections.abc import Sequence
from datetime import timedelta

from django.db import connection
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
        """Insert what is new; ``[(id, source_record_id)]`` of the rows actually written."""
        ordered = sorted(prepared, key=lambda item: item.event.source_record_id)
        if connection.vendor == "postgresql":
            return self._insert_staged(ordered, identity_ids) if ordered else []
        ordered = _without_stored_dedup_keys(ordered)
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
                f"{identity_ids[e.upn]}\t{e.occurred_at.isoformat()}\t{e.kind}\t{_copy(e.operation)}\t{source}\t"
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
                f"WHERE s.dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM {self._table} AS e "
                "WHERE e.dedup_key = s.dedup_key AND e.occurred_at BETWEEN s.occurred_at - %s AND s.occurred_at + %s) "
                f"ORDER BY {quote('source_record_id')}" + self._returning,
                [DEDUP_WINDOW, DEDUP_WINDOW],
            )
            return cursor.fetchall()

    def _insert_values(self, ordered: list[PreparedEvent], identity_ids: dict[str, int]) -> list[tuple[int, str]]:
        """Other databases (SQLite in development): multi-row VALUES within the parameter limit."""
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(timezone.now())
        rows = [
            [
                identity_ids[e.upn], adapt(e.occurred_at), e.kind, e.operation, self.source, e.source_record_id,
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


def _without_stored_dedup_keys(ordered: list[PreparedEvent]) -> list[PreparedEvent]:
    """The rows whose ``dedup_key`` no stored event carries within ``DEDUP_WINDOW`` of their time."""
    keyed = [item.event for item in ordered if item.event.dedup_key]
    if not keyed:
        return ordered
    first = min(e.occurred_at for e in keyed) - DEDUP_WINDOW
    last = max(e.occurred_at for e in keyed) + DEDUP_WINDOW
    stored: dict[str, list] = {}
    keys = sorted({e.dedup_key for e in keyed})
    step = connection.features.max_query_params or len(keys)
    for start in range(0, len(keys), step):
        rows = Event.objects.filter(
            dedup_key__in=keys[start : start + step], occurred_at__gte=first, occurred_at__lte=last
        ).values_list("dedup_key", "occurred_at")
        for key, at in rows:
            stored.setdefault(key, []).append(at)
    return [
        item
        for item in ordered
        if not any(abs(at - item.event.occurred_at) <= DEDUP_WINDOW for at in stored.get(item.event.dedup_key, ()))
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

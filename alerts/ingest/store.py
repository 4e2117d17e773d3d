"""Bulk writes of one batch: identities first seen, then the events, in a few queries.

Events go in with one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL; SQLite ≥ 3.35
speaks the same), so duplicates of ``(source, source_record_id)`` or of ``dedup_key`` are
skipped by the database itself, concurrent ingests included. Rows are written in a fixed order
(identities by UPN, events by record id) so that two concurrent batches lock in the same order.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from alerts.ingest.prepare import PreparedEvent
from alerts.models import Event, Identity

_IDENTITY_FIELDS = ("id", "upn", "display_name", "department", "external_id", "first_seen_at", "last_seen_at")


@dataclass(slots=True)
class _Sighting:
    display_name: str
    department: str
    external_id: str
    first: datetime
    last: datetime


def identities_resolve(prepared: Sequence[PreparedEvent]) -> dict[str, int]:
    """``{upn: identity id}`` for every UPN of the batch, creating the missing identities and
    filling in what they lacked (display name, department, Entra object id, first/last seen)."""
    sightings: dict[str, _Sighting] = {}
    for item in prepared:
        event = item.event
        seen = sightings.get(event.upn)
        if seen is None:
            sightings[event.upn] = _Sighting(
                event.display_name, event.department, event.external_id, event.occurred_at, event.occurred_at
            )
            continue
        seen.display_name = seen.display_name or event.display_name
        seen.department = seen.department or event.department
        seen.external_id = seen.external_id or event.external_id
        seen.first = min(seen.first, event.occurred_at)
        seen.last = max(seen.last, event.occurred_at)

    found = _identities(sorted(sightings))
    missing = sorted(set(sightings) - found.keys())
    if missing:
        Identity.objects.bulk_create(
            [
                Identity(
                    upn=upn,
                    display_name=sightings[upn].display_name,
                    department=sightings[upn].department,
                    external_id=sightings[upn].external_id,
                    first_seen_at=sightings[upn].first,
                    last_seen_at=sightings[upn].last,
                )
                for upn in missing
            ],
            ignore_conflicts=True,
        )
        found.update(_identities(missing))

    changed = [identity for identity in found.values() if _merge(identity, sightings[identity.upn])]
    if changed:
        changed.sort(key=lambda identity: identity.pk)
        Identity.objects.bulk_update(
            changed, ["display_name", "department", "external_id", "first_seen_at", "last_seen_at"]
        )
    return {upn: identity.pk for upn, identity in found.items()}


def _identities(upns: list[str]) -> dict[str, Identity]:
    found: dict[str, Identity] = {}
    for chunk in _chunks(upns, connection.features.max_query_params or len(upns) or 1):
        for identity in Identity.objects.filter(upn__in=chunk).only(*_IDENTITY_FIELDS):
            found[identity.upn] = identity
    return found


def _merge(identity: Identity, seen: _Sighting) -> bool:
    changed = False
    for name in ("display_name", "department", "external_id"):
        if not getattr(identity, name) and getattr(seen, name):
            setattr(identity, name, getattr(seen, name))
            changed = True
    if identity.first_seen_at is None or seen.first < identity.first_seen_at:
        identity.first_seen_at, changed = seen.first, True
    if identity.last_seen_at is None or seen.last > identity.last_seen_at:
        identity.last_seen_at, changed = seen.last, True
    return changed


class EventWriter:
    """Builds and runs the batch INSERT for ``source``; columns follow the model, so a field
    another feature adds with a default is written with that default."""

    def __init__(self, source: str):
        self.source = source
        self.fields = [field for field in Event._meta.concrete_fields if not field.primary_key]
        self._known = {
            "identity",
            "occurred_at",
            "kind",
            "operation",
            "source",
            "source_record_id",
            "dedup_key",
            "ip",
            "country",
            "city",
            "latitude",
            "longitude",
            "app",
            "user_agent",
            "succeeded",
            "subject",
            "target",
            "attributes",
            "raw",
            "ingested_at",
        }
        self._defaults = {
            field.name: field.get_db_prep_save(field.get_default(), connection)
            for field in self.fields
            if field.name not in self._known
        }
        postgres = connection.vendor == "postgresql"
        quote = connection.ops.quote_name
        placeholders = [
            "%s::jsonb" if postgres and field.get_internal_type() == "JSONField" else "%s" for field in self.fields
        ]
        self._row_sql = "(" + ", ".join(placeholders) + ")"
        # Only model metadata goes into the text; every value is a parameter.
        self._insert_sql = (
            f"INSERT INTO {quote(Event._meta.db_table)} ({', '.join(quote(f.column) for f in self.fields)}) VALUES "  # noqa: S608
        )
        self._returning = f" ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('source_record_id')}"

    def _row(self, item: PreparedEvent, identity_id: int, now) -> list:
        event = item.event
        adapt_datetime = connection.ops.adapt_datetimefield_value
        values = {
            "identity": identity_id,
            "occurred_at": adapt_datetime(event.occurred_at),
            "kind": event.kind,
            "operation": event.operation,
            "source": self.source,
            "source_record_id": event.source_record_id,
            "dedup_key": event.dedup_key,
            "ip": event.ip,
            "country": event.country,
            "city": event.city,
            "latitude": event.latitude,
            "longitude": event.longitude,
            "app": event.app,
            "user_agent": event.user_agent,
            "succeeded": event.succeeded,
            "subject": event.subject,
            "target": event.target,
            "attributes": item.attributes_json,
            "raw": item.raw_json,
            "ingested_at": now,
        }
        return [values[field.name] if field.name in values else self._defaults[field.name] for field in self.fields]

    def insert(self, prepared: Sequence[PreparedEvent], identity_ids: dict[str, int]) -> list[tuple[int, str]]:
        """Insert what is new; ``[(id, source_record_id)]`` of the rows actually written."""
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        ordered = sorted(prepared, key=lambda item: item.event.source_record_id)
        rows = [self._row(item, identity_ids[item.event.upn], now) for item in ordered]
        per_statement = len(rows) or 1
        if connection.features.max_query_params:
            per_statement = max(1, connection.features.max_query_params // len(self.fields))
        written: list[tuple[int, str]] = []
        with connection.cursor() as cursor:
            for chunk in _chunks(rows, per_statement):
                sql = self._insert_sql + ", ".join([self._row_sql] * len(chunk)) + self._returning
                cursor.execute(sql, [value for row in chunk for value in row])
                written.extend(cursor.fetchall())
        return written


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""Identities of one batch, resolved in a few queries: the missing ones created, the known ones
completed (display name, department, Entra object id) and their first/last seen widened.

Identities are written in UPN order so that two concurrent batches lock rows in the same order.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from alerts.ingest.prepare import PreparedEvent
from alerts.models import Identity

_FIELDS = ("display_name", "department", "external_id", "first_seen_at", "last_seen_at")


@dataclass(slots=True)
class _Sighting:
    display_name: str
    department: str
    external_id: str
    first_seen_at: datetime
    last_seen_at: datetime


def identities_resolve(prepared: Sequence[PreparedEvent]) -> dict[str, int]:
    """``{upn: identity id}`` for every UPN of the batch (events about no user have none)."""
    sightings: dict[str, _Sighting] = {}
    for item in prepared:
        event = item.event
        if event.upn is None:
            continue
        seen = sightings.get(event.upn)
        if seen is None:
            sightings[event.upn] = _Sighting(
                event.display_name, event.department, event.external_id, event.occurred_at, event.occurred_at
            )
            continue
        seen.display_name = seen.display_name or event.display_name
        seen.department = seen.department or event.department
        seen.external_id = seen.external_id or event.external_id
        if event.occurred_at < seen.first_seen_at:
            seen.first_seen_at = event.occurred_at
        if event.occurred_at > seen.last_seen_at:
            seen.last_seen_at = event.occurred_at

    found = _identities(sorted(sightings))
    missing = sorted(set(sightings) - found.keys())
    if missing:
        Identity.objects.bulk_create(
            [Identity(upn=upn, **{name: getattr(sightings[upn], name) for name in _FIELDS}) for upn in missing],
            ignore_conflicts=True,
        )
        found.update(_identities(missing))
    changed = sorted((row for upn, row in found.items() if _merge(row, sightings[upn])), key=lambda row: row[0])
    if changed:
        _identities_update(changed)
    return {upn: row[0] for upn, row in found.items()}


def _identities(upns: list[str]) -> dict[str, list]:
    """``{upn: [id, display_name, department, external_id, first_seen_at, last_seen_at]}``."""
    found: dict[str, list] = {}
    for chunk in _chunks(upns, connection.features.max_query_params or len(upns) or 1):
        for upn, *row in Identity.objects.filter(upn__in=chunk).values_list("upn", "id", *_FIELDS):
            found[upn] = row
    return found


def _merge(row: list, seen: _Sighting) -> bool:
    """Fill ``row`` with what the batch adds; True when anything changed."""
    changed = False
    for position, name in enumerate(("display_name", "department", "external_id"), start=1):
        value = getattr(seen, name)
        if value and not row[position]:
            row[position], changed = value, True
    if row[4] is None or seen.first_seen_at < row[4]:
        row[4], changed = seen.first_seen_at, True
    if row[5] is None or seen.last_seen_at > row[5]:
        row[5], changed = seen.last_seen_at, True
    return changed


def _identities_update(rows: list[list]) -> None:
    """One UPDATE for the batch. On PostgreSQL it merges with the row as it is now (a concurrent
    batch may have moved ``last_seen_at`` meanwhile): names fill blanks only, times only widen."""
    if connection.vendor != "postgresql":
        Identity.objects.bulk_update(
            [Identity(pk=row[0], **dict(zip(_FIELDS, row[1:], strict=True))) for row in rows], list(_FIELDS)
        )
        return
    table = connection.ops.quote_name(Identity._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s::timestamptz, %s::timestamptz)"] * len(rows))
    with connection.cursor() as cursor:
        # Lock in id order first: two concurrent batches sharing identities then queue behind each
        # other instead of deadlocking on the order the UPDATE's join happens to visit rows. NO KEY
        # (the mode the UPDATE itself takes): rows that refer to an identity (events, simulated
        # accounts) can still be inserted meanwhile, so a remediation or mirror holding another
        # identity never waits on ingest in a cycle.
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",  # noqa: S608 - model table
            [[row[0] for row in rows]],
        )
        cursor.execute(
            f"UPDATE {table} AS i SET "  # noqa: S608 - table name from the model; values are parameters
            "display_name = COALESCE(NULLIF(i.display_name, ''), v.display_name), "
            "department = COALESCE(NULLIF(i.department, ''), v.department), "
            "external_id = COALESCE(NULLIF(i.external_id, ''), v.external_id), "
            "first_seen_at = LEAST(i.first_seen_at, v.first_seen_at), "
            "last_seen_at = GREATEST(i.last_seen_at, v.last_seen_at) "
            f"FROM (VALUES {values}) AS v(id, display_name, department, external_id, first_seen_at, last_seen_at) "
            "WHERE i.id = v.id",
            [value for row in rows for value in row],
        )


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""One sign-in, two copies: the event keeps what both say.

Entra ID reports an interactive sign-in twice: in its own sign-in log (Graph ``signIn``,
source ``entra-signins``: risk, Conditional Access, location, app name, device, session) and in
the unified audit log (``UserLoggedIn`` / ``UserLoginFailed``, source ``o365-audit``: sparse,
app GUIDs, but a few fields of its own). Both carry the ESTS request id (Graph ``id``, the audit
record's ``IntraSystemId``), so both get ``dedup_key = "signin:<request id>"`` and only the
first to arrive is inserted. The second is merged into it here:

- every field either copy has is kept; where both have one, the Graph copy's value wins (a
  second copy from the same poorer source only fills gaps, so re-sending it changes nothing);
- the location moves as one block (country, city, coordinates): the one the source reported
  beats one the offline GeoIP database guessed;
- ``attributes["sources"]`` lists the sources that reported the sign-in.

The stored row keeps its id, source and record id (re-sending either copy stays a no-op) and
its raw record. A merge that changes what detection reads (any column, or anything the richer
copy brings) returns the event's id so ingest enters it in the detection ledger again: the
event is judged as if it had arrived whole, whichever copy came first.
"""

import json
from datetime import datetime
from typing import Any

from django.db import connection

from alerts.adapters.base import NormalisedEvent
from alerts.ingest.prepare import PreparedEvent
from alerts.ingest.writer import DEDUP_WINDOW
from alerts.models import Event

SIGNIN_KEY_PREFIX = "signin:"
RICHER_SOURCE = "entra-signins"
LOCATION = ("country", "city", "latitude", "longitude")
COLUMNS = ("occurred_at", "kind", "operation", "ip", "app", "user_agent", "succeeded", "target")
UPDATE_BATCH = 500  # rows per UPDATE: its CASE per row and column grows with the batch
_LOADED = ("id", "source", "dedup_key", "attributes", *COLUMNS, *LOCATION)


def signin_copies_merge(*, prepared: list[PreparedEvent], written: set[str], source: str) -> list[int]:
    """Merge the sign-in copies of ``prepared`` that were not inserted (``written`` holds the
    record ids that were) into the stored events sharing their key; the ids to judge again."""
    copies = [
        item
        for item in prepared
        if item.event.dedup_key
        and item.event.dedup_key.startswith(SIGNIN_KEY_PREFIX)
        and item.event.source_record_id not in written
    ]
    if not copies:
        return []
    stored = _stored_for([item.event for item in copies])
    rejudge: set[int] = set()
    updated: dict[int, Event] = {}
    fields: set[str] = set()
    for item in copies:
        event = _closest(stored.get(item.event.dedup_key, ()), item.event.occurred_at)
        if event is None:
            continue
        changed = merge_into(event, item, source=source)
        if not changed:
            continue
        updated[event.pk] = event
        fields |= changed
        if changed != {"attributes"} or source == RICHER_SOURCE:
            rejudge.add(event.pk)
    if updated:
        Event.objects.bulk_update(list(updated.values()), sorted(fields), batch_size=UPDATE_BATCH)
    return sorted(rejudge)


def _stored_for(copies: list[NormalisedEvent]) -> dict[str, list[Event]]:
    first = min(copy.occurred_at for copy in copies) - DEDUP_WINDOW
    last = max(copy.occurred_at for copy in copies) + DEDUP_WINDOW
    keys = sorted({copy.dedup_key for copy in copies})
    limit = connection.features.max_query_params  # None on PostgreSQL: one query
    step = len(keys) if limit is None else max(1, limit - 2)
    found: dict[str, list[Event]] = {}
    for start in range(0, len(keys), step):
        rows = (
            Event.objects.select_for_update()
            .filter(dedup_key__in=keys[start : start + step], occurred_at__gte=first, occurred_at__lte=last)
            .only(*_LOADED)
            .order_by("pk")
        )
        for row in rows:
            found.setdefault(row.dedup_key, []).append(row)
    return found


def _closest(events, moment: datetime) -> Event | None:
    near = [event for event in events if abs(event.occurred_at - moment) <= DEDUP_WINDOW]
    return min(near, key=lambda event: abs(event.occurred_at - moment), default=None)


def merge_into(event: Event, item: PreparedEvent, *, source: str) -> set[str]:
    """Merge the prepared copy ``item`` (from ``source``) into the stored ``event`` in place; the
    fields that changed. Applying the same copy twice changes nothing the second time."""
    copy = item.event
    attributes = dict(event.attributes) if isinstance(event.attributes, dict) else {}
    sources = set(attributes.get("sources") or [event.source])
    copy_wins = source == RICHER_SOURCE or RICHER_SOURCE not in sources
    changed: set[str] = set()

    def put(name: str, value: Any) -> None:
        if getattr(event, name) != value:
            setattr(event, name, value)
            changed.add(name)

    for name in COLUMNS:
        mine, theirs = getattr(event, name), getattr(copy, name)
        put(name, _pick(theirs, mine) if copy_wins else _pick(mine, theirs))
    # The stored location came from the richer source when it holds that source's copy and the
    # incoming one is the poorer copy; otherwise the incoming copy may replace it.
    copy_location = _location_rank(copy.attributes.get("location_source"), from_richer=source == RICHER_SOURCE)
    event_location = _location_rank(attributes.get("location_source"), from_richer=not copy_wins)
    if copy.country and copy_location > event_location:
        for name in LOCATION:
            put(name, getattr(copy, name))
        attributes["location_source"] = copy.attributes.get("location_source", "")
    incoming = json.loads(item.attributes_json)
    incoming.pop("location_source", None)
    merged = _merged(incoming, attributes) if copy_wins else _merged(attributes, incoming)
    merged["sources"] = sorted(sources | {source})
    if merged != event.attributes:
        event.attributes = merged
        changed.add("attributes")
    return changed


def _location_rank(location_source: Any, *, from_richer: bool) -> tuple[bool, bool]:
    """A location the source reported beats a GeoIP guess; between equals, the richer source's."""
    return (location_source == "source", from_richer)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _pick(preferred: Any, other: Any) -> Any:
    return preferred if _present(preferred) else other


def _merged(preferred: dict, other: dict) -> dict:
    """Every key of both; the preferred value where it has one, nested objects merged alike."""
    merged = dict(other)
    for key, value in preferred.items():
        mine = merged.get(key)
        if isinstance(value, dict) and isinstance(mine, dict):
            merged[key] = _merged(value, mine)
        else:
            merged[key] = _pick(value, mine)
    return merged

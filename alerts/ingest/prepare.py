"""Make an adapter's event safe to store: text cleaned and cut to the column sizes, JSON that
PostgreSQL accepts, a stable record id, and a location from the IP when the source gave none.

Attacker-controlled text (subjects, rule names, user agents) is stored as data: NUL characters
and lone surrogates, which PostgreSQL refuses, are removed or replaced; nothing is interpreted.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from alerts.adapters.base import UNATTRIBUTED_KINDS, NormalisedEvent, RecordError
from alerts.adapters.fields import fingerprint
from alerts.geo import ip_location
from alerts.models import Event, Identity

_SURROGATES = re.compile("[\ud800-\udfff]")
_KINDS = frozenset(Event.Kind.values)
_EVENT_TEXT = ("operation", "country", "city", "app", "user_agent", "subject", "target")
_LIMITS = {name: Event._meta.get_field(name).max_length for name in (*_EVENT_TEXT, "source_record_id")}
_UPN_LIMIT = Identity._meta.get_field("upn").max_length
_IDENTITY_LIMITS = {
    name: Identity._meta.get_field(name).max_length for name in ("display_name", "department", "external_id")
}


@dataclass(slots=True)
class PreparedEvent:
    event: NormalisedEvent
    attributes_json: str
    raw_json: str


def clean_text(value: Any, limit: int | None = None) -> str:
    """Text PostgreSQL will store, at most ``limit`` characters."""
    if not value:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    if limit is not None and len(value) > limit:
        value = value[:limit]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATES.sub("\ufffd", value)
    return value


def to_json(value: Any) -> str:
    """Compact JSON that PostgreSQL's ``jsonb`` accepts (no NUL, no lone surrogate, no NaN)."""
    try:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        dumped.encode("utf-8")
        if "\\u0000" not in dumped:
            return dumped
    except (ValueError, TypeError, UnicodeEncodeError):
        pass
    return json.dumps(_sanitised(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _sanitised(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean_text(str(key)): _sanitised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitised(item) for item in value]
    return clean_text(str(value))


def _bounded_id(value: str) -> str:
    """Ids longer than the column become their hash, so they stay unique instead of being cut."""
    value = clean_text(value)
    if len(value) <= _LIMITS["source_record_id"]:
        return value
    return "sha1:" + hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()


def prepare(event: NormalisedEvent) -> PreparedEvent:
    """Clean ``event`` in place; a ``RecordError`` when it cannot be stored at all."""
    if event.kind not in _KINDS:
        raise RecordError(f"unknown event kind {clean_text(event.kind, 40)!r}")
    if event.upn is not None or event.kind not in UNATTRIBUTED_KINDS:
        event.upn = clean_text(event.upn).strip().lower()
        if not event.upn:
            raise RecordError("the record names no user")
        if len(event.upn) > _UPN_LIMIT:
            raise RecordError(f"user name longer than {_UPN_LIMIT} characters")
    for name in _EVENT_TEXT:
        setattr(event, name, clean_text(getattr(event, name), _LIMITS[name]))
    for name, limit in _IDENTITY_LIMITS.items():
        setattr(event, name, clean_text(getattr(event, name), limit))
    for name in ("latitude", "longitude"):
        value = getattr(event, name)
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
            setattr(event, name, None)
    try:
        raw_json = to_json(event.raw)
        if not event.source_record_id:
            event.source_record_id = fingerprint([event.raw, event.upn, event.kind])
        event.source_record_id = _bounded_id(event.source_record_id)
        event.dedup_key = _bounded_id(event.dedup_key) if event.dedup_key else None
        _locate(event)
        attributes_json = to_json(event.attributes)
    except RecursionError:
        raise RecordError("the record is nested too deeply")
    return PreparedEvent(event=event, attributes_json=attributes_json, raw_json=raw_json)


def _locate(event: NormalisedEvent) -> None:
    """A location the source reports wins; the offline database fills what is missing."""
    if event.country:
        event.attributes.setdefault("location_source", "source")
        return
    location = ip_location(event.ip) if event.ip else None
    if location is None:
        return
    event.country = location.country
    event.city = event.city or clean_text(location.city, _LIMITS["city"])
    if event.latitude is None and event.longitude is None:
        event.latitude, event.longitude = location.latitude, location.longitude
    event.attributes.setdefault("location_source", "geoip")

"""Small readers for the quirks of Microsoft's log formats, shared by every adapter.

Sources disagree on casing (Panther lowercases the audit schema's keys), write booleans as
``"True"``/``"False"``, wrap lists in JSON strings (Sentinel's OfficeActivity), put ports and
brackets around client IPs and use half a dozen timestamp formats. Everything here is total:
bad input gives ``None``/empty or a ``RecordError``, never another exception.
"""

import hashlib
import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.adapters.base import RecordError

# Bounded parts (RFC 5321: a local part of at most 64 characters, labels of at most 63) keep the
# scan linear: with ``+`` a long run of attacker text without an ``@`` costs quadratic time.
_EMAIL = re.compile(r"[A-Za-z0-9._%+'&-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,16}\.[A-Za-z]{2,63}")
_MS_JSON_DATE = re.compile(r"^/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/$")
_US_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_LOOSE_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TRUE = frozenset({"true", "1", "yes", "$true", "y", "on", "enabled"})
_FALSE = frozenset({"false", "0", "no", "$false", "n", "off", "disabled", ""})


def require_object(record: Any) -> dict:
    if not isinstance(record, dict):
        raise RecordError(f"a record must be a JSON object, not {json_type(record)}")
    return record


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def lower_keys(mapping: Any) -> dict[str, Any]:
    """The mapping with lower-cased keys (first spelling wins); anything else reads as empty."""
    if not isinstance(mapping, dict):
        return {}
    lowered: dict[str, Any] = {}
    for name, value in mapping.items():
        lowered.setdefault(str(name).lower(), value)
    return lowered


def as_list(value: Any) -> list:
    """``value`` if it is a list, else an empty list (sources put scalars where lists belong)."""
    return value if isinstance(value, list) else []


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list, with lower-cased keys; anything else in it is skipped."""
    return [lower_keys(item) for item in as_list(value) if isinstance(item, dict)]


def pick(mapping: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` (lower-case) whose value is present and not empty."""
    for name in names:
        value = mapping.get(name)
        if value is not None and value != "" and value != [] and value != {}:
            return value
    return None


def text(value: Any) -> str:
    """A scalar as stripped text; containers and ``None`` read as empty."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value != value:  # NaN
        return ""
    value = str(value).strip()
    return "" if value == "<null>" else value


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE and lowered:
            return False
    return None


def parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


def parse_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def json_value(value: Any) -> Any:
    """Sentinel and Purview exports carry nested lists and objects as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse_time(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 (any precision, with or without zone), US-style
    ``M/D/YYYY h:mm:ss AM``, ``/Date(ms)/`` or epoch seconds/milliseconds."""
    parsed = _parse_time(value)
    if parsed is None:
        raise RecordError(f"unreadable timestamp {text(value)[:60]!r}" if text(value) else "missing timestamp")
    return parsed


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value)
    value = text(value)
    if not value:
        return None
    match = _MS_JSON_DATE.match(value)
    if match:
        return _from_epoch(int(match.group(1)) / 1000)
    candidate = _FRACTION.sub(r"\1", value.replace(" ", "T", 1) if value[:4].isdigit() else value)
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = _loose_iso(value)
    if parsed is None:
        for fmt in _US_DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _loose_iso(value: str) -> datetime | None:
    """ISO-like text with one-digit fields (``2023-10-26T5:32:08.107Z``), as some exports write it."""
    match = _LOOSE_ISO.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    candidate = f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}"
    if fraction:
        candidate += "." + fraction[:6].ljust(6, "0")
    if zone:
        candidate += "+00:00" if zone.upper() == "Z" else zone
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _from_epoch(number: float) -> datetime | None:
    if number != number:
        return None
    seconds = number / 1000 if abs(number) > 1e11 else number
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def normalise_ip(value: Any) -> str | None:
    """``1.2.3.4:5678``, ``[::1]:443``, ``::ffff:1.2.3.4``, ``fe80::1%eth0`` → canonical text; junk → None."""
    value = text(value)
    if not value or len(value) > 100:
        return None
    value = value.split(",")[0].strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.compressed


def name_values(items: Any) -> dict[str, Any]:
    """``[{"Name": n, "Value": v}, ...]`` (any casing, maybe a JSON string) → ``{n.lower(): v}``."""
    items = json_value(items)
    if isinstance(items, dict):
        return lower_keys(items)
    values: dict[str, Any] = {}
    if not isinstance(items, list):
        return values
    for item in items:
        item = lower_keys(item)
        name = text(item.get("name"))
        if name:
            values.setdefault(name.lower(), item.get("value"))
    return values


def email_addresses(value: Any) -> list[str]:
    """Every address in ``value`` (lists, ``;``-separated text, ``smtp:`` prefixes, ``"Name" [SMTP:a@b]``).

    Values without an address (a display name, a legacy DN) are kept as they are, so nothing
    the attacker named is lost.
    """
    if isinstance(value, list):
        found: list[str] = []
        for item in value:
            for address in email_addresses(item.get("emailAddress", item) if isinstance(item, dict) else item):
                if address not in found:
                    found.append(address)
        return found
    if isinstance(value, dict):
        return email_addresses(pick(lower_keys(value), "address", "emailaddress", "name"))
    value = text(value)
    if not value:
        return []
    addresses = [match.lower() for match in _EMAIL.findall(value)]
    if not addresses:
        addresses = [part.strip() for part in value.split(";") if part.strip()]
    return list(dict.fromkeys(addresses))


def words(value: Any) -> list[str]:
    """A multi-valued cmdlet parameter (``"invoice;payment"`` or a list) as a list of strings."""
    if isinstance(value, list):
        return [text(item) for item in value if text(item)]
    return [part.strip() for part in text(value).split(";") if part.strip()]


def upn(value: Any) -> str:
    """A user name as the identity key: stripped, lower-cased, without an ``smtp:`` prefix."""
    value = text(value).lower()
    if value.startswith("smtp:"):
        value = value[5:]
    return value


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() if "@" in address else ""


def snake(name: str) -> str:
    """``ForwardAsAttachmentTo`` → ``forward_as_attachment_to``."""
    return _CAMEL.sub("_", name.strip()).replace("-", "_").replace(" ", "_").replace(".", "_").lower()


def fingerprint(record: Any) -> str:
    """A stable id for a record that carries none: the hash of its canonical JSON."""
    canonical = json.dumps(record, sort_keys=True, default=str, ensure_ascii=True, separators=(",", ":"))
    return "sha1:" + hashlib.sha1(canonical.encode(), usedforsecurity=False).hexdigest()

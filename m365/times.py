"""Timestamps as Microsoft's APIs write and read them (always UTC)."""

import re
from datetime import UTC, datetime

_FRACTION = re.compile(r"\.(\d+)")


def parse(value: str) -> datetime:
    """An ISO 8601 timestamp from Graph or the Management API, as an aware UTC datetime.

    Graph writes up to seven fractional digits (``2020-03-13T19:15:41.6195833Z``); Python reads six.
    A timestamp without an offset is UTC (the Management API's ``CreationTime``).
    """
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip(), count=1)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """``2026-01-20T00:00:00Z``: the form Graph's $filter and the Management API's startTime take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

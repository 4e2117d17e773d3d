"""Small display helpers shared by the console's templates: ages against an SLA, JSON, labels."""

import json
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from airportal.text import short_list

register = template.Library()


def _compact(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@register.filter
def age(since: datetime | None, until: datetime | None = None) -> str:
    """How long ago (or, with ``until``, how long between): "3d 4h", "2h 05m", "12m"."""
    if since is None:
        return ""
    return _compact((until or timezone.now()) - since)


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta written like an age: "3d 4h", "2h 05m", "12m"."""
    return _compact(value) if value is not None else ""


@register.filter
def minutes(value: int | None) -> str:
    """A number of minutes written like an age: 240 → "4h 00m"."""
    return _compact(timedelta(minutes=value or 0))


@register.filter
def overdue(since: datetime | None, sla_minutes: int) -> bool:
    """True when more than ``sla_minutes`` have passed since ``since``."""
    return since is not None and timezone.now() - since > timedelta(minutes=sla_minutes)


@register.filter
def pretty_json(value) -> str:
    """Indented JSON as plain text; the template escapes it like any other string."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def get_item(mapping: dict, key):
    """``mapping[key]`` in a template (None when missing)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{humanize_key(key)}: {_cell(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:  # an ISO timestamp, as detectors store them: shown like the rest of the console
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    return str(value)


def _flatten(item: dict) -> dict:
    """One level of nesting becomes columns: {"from": {"city": …}} → {"from city": …}."""
    flat = {}
    for key, value in item.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"{key} {inner}"] = inner_value
        else:
            flat[key] = value
    return flat


@register.filter
def evidence_blocks(evidence: dict, skip: str = "") -> list[dict]:
    """An alert's evidence as display blocks: a value per key, or a table for a list of records.

    ``skip`` names keys (comma-separated) not to show, e.g. the reasons already in the description.
    """
    hidden = {key.strip() for key in skip.split(",") if key.strip()}
    blocks = []
    for key, value in (evidence or {}).items():
        if key in hidden:
            continue
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            rows = [_flatten(item) for item in value[:50]]
            columns = list(dict.fromkeys(column for row in rows for column in row))
            blocks.append(
                {
                    "label": humanize_key(key),
                    "columns": [humanize_key(column) for column in columns],
                    "rows": [[_cell(row.get(column)) for column in columns] for row in rows],
                    "more": max(0, len(value) - len(rows)),
                }
            )
        else:
            blocks.append({"label": humanize_key(key), "value": _cell(value)})
    return blocks


register.filter("short_list", short_list)


@register.filter
def humanize_key(value: str) -> str:
    """ "external_forwarding" → "external forwarding"."""
    return str(value).replace("_", " ")


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with ``changes`` applied (None or "" removes a key), for links."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"

"""Small display helpers shared by the console's templates: ages against an SLA, JSON, labels."""

import json
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

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


@register.filter
def is_structured(value) -> bool:
    """A dict or a list (shown as JSON), rather than a plain value."""
    return isinstance(value, dict | list)


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

"""Keyset pagination for the console's HTML pages.

A page is "the next ``limit`` rows after this position in the ordering"; the position (the
last row's sort key) travels in an opaque ``cursor`` query parameter. Deep pages cost what
the first page costs, because the database seeks in an index instead of skipping an OFFSET.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

MAX_INT = 2**63  # a database integer column holds no more; a forged cursor must not reach the query


@dataclass(frozen=True)
class SortKey:
    """One column of an ordering: a field or annotation name, and its direction."""

    field: str
    descending: bool = True
    kind: type = int  # datetime, int or str: how the cursor decodes the value


@dataclass
class Page:
    rows: list
    next_cursor: str | None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def cursor_encode(values: Sequence[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def cursor_decode(token: str | None, keys: Sequence[SortKey]) -> list | None:
    """The sort key values in ``token``, or None for a missing or malformed cursor (first page)."""
    if not token:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    decoded = []
    for value, key in zip(values, keys, strict=True):
        try:
            if key.kind is datetime:
                decoded.append(datetime.fromisoformat(value))
            elif key.kind is int:
                if isinstance(value, bool) or not isinstance(value, int) or not -MAX_INT <= value < MAX_INT:
                    return None
                decoded.append(value)
            else:
                decoded.append(str(value))
        except (TypeError, ValueError):
            return None
    return decoded


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in the ordering, as (k1 > v1) | (k1 = v1 & rest)."""
    key, value = keys[0], values[0]
    beyond = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
    if len(keys) == 1:
        return beyond
    return beyond | (Q(**{key.field: value}) & _after(keys[1:], values[1:]))


def keyset_page(queryset: QuerySet, *, keys: Sequence[SortKey], cursor: str | None, limit: int) -> Page:
    """One page of ``queryset`` ordered by ``keys`` (the last key must be unique, e.g. ``id``).

    The first key also gets a plain ``<=``/``>=`` bound: the OR form alone cannot start an
    index scan, the bound lets the database seek straight to the cursor.
    """
    ordering = [f"-{key.field}" if key.descending else key.field for key in keys]
    queryset = queryset.order_by(*ordering)
    values = cursor_decode(cursor, keys)
    if values is not None:
        first = keys[0]
        bound = Q(**{f"{first.field}__{'lte' if first.descending else 'gte'}": values[0]})
        queryset = queryset.filter(bound & _after(keys, values))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = cursor_encode([_value(last, key.field) for key in keys])
    return Page(rows=rows, next_cursor=next_cursor)


def _value(row, field: str):
    if isinstance(row, dict):
        return row[field]
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value

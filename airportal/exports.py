"""CSV exports: streamed row by row, with spreadsheet formula injection neutralised.

Exported cells hold attacker-controlled text (mail subjects, rule names, user agents). A cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel and LibreOffice, so such a cell is prefixed with a single quote (OWASP's advice).
"""

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One value as CSV text: ISO dates in UTC, empty for None, formula triggers quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, int | float):
        return str(value)  # a negative number is a number, not a formula
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


@dataclass(frozen=True)
class Column:
    """A CSV column: its header and how to read the value from one row."""

    header: str
    value: Callable[[Any], Any]


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_rows(rows: Iterable[Any], columns: Sequence[Column]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([column.header for column in columns])
    for row in rows:
        yield writer.writerow([csv_cell(column.value(row)) for column in columns])


def csv_response(*, filename: str, rows: Iterable[Any], columns: Sequence[Column]) -> StreamingHttpResponse:
    """A streamed CSV download; ``rows`` should be a lazy iterator (``queryset.iterator()``)."""
    response = StreamingHttpResponse(csv_rows(rows, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response

"""Streams of records from request bodies and files, without holding them in memory.

A JSON array is parsed item by item (ijson), NDJSON line by line, a Purview CSV export row by
row; gzip is inflated on the fly with a cap on what it may inflate to. A body that cannot be
read raises a ``DomainError`` (400/411/413/415) with a message for the integrator; one bad NDJSON
line or CSV row is only that record's error (``UnreadableRecord``).
"""

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from airportal.errors import DomainError
from alerts.ingest.service import UnreadableRecord

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
JSON_TYPES = frozenset({"application/json"})
_BUFFER = 256 * 1024
_CSV_FIELD_LIMIT = 64 * 1024 * 1024


class UnreadableBody(DomainError):
    status_code = 400


class LengthRequired(DomainError):
    status_code = 411


class BodyTooLarge(DomainError):
    status_code = 413


class UnsupportedBody(DomainError):
    status_code = 415


class _Capped(io.RawIOBase):
    """Reads ``inner`` (maybe inflating gzip) and fails once more than ``limit`` bytes came out."""

    def __init__(self, inner: Any, *, limit: int | None, what: str, on_read: Callable[[int], None] | None = None):
        self._inner, self._limit, self._what, self._on_read = inner, limit, what, on_read
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableBody(f"The body is not valid gzip: {exc}.")
        self._total += len(data)
        if self._limit is not None and self._total > self._limit:
            raise BodyTooLarge(f"The {self._what} is larger than {self._limit} bytes.")
        if self._on_read is not None:
            self._on_read(len(data))
        buffer[: len(data)] = data
        return len(data)


def body_records(
    stream: BinaryIO,
    *,
    content_type: str,
    content_encoding: str,
    content_length: int | None,
    max_body: int,
    max_inflated: int,
) -> Iterator[Any]:
    """The records of a request body. Header problems raise at once; body problems while iterating."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES | NDJSON_TYPES:
        raise UnsupportedBody(
            f"Content-Type must be application/json (an array or a Graph page) or application/x-ndjson, "
            f"not {media_type or 'missing'!r}."
        )
    encoding = content_encoding.strip().lower()
    if encoding not in {"", "identity", "gzip", "x-gzip"}:
        raise UnsupportedBody(f"Content-Encoding {encoding!r} is not supported; use gzip or none.")
    if content_length is None:
        raise LengthRequired("Send the body with a Content-Length header (chunked uploads are not supported).")
    if content_length > max_body:
        raise BodyTooLarge(f"The body is {content_length} bytes; the limit is {max_body} (INGEST_MAX_BODY_BYTES).")
    if content_length == 0:
        raise UnreadableBody("The body is empty.")
    reader: Any = _Capped(stream, limit=max_body, what="body")
    if encoding in {"gzip", "x-gzip"}:
        inflated = gzip.GzipFile(fileobj=io.BufferedReader(reader, _BUFFER), mode="rb")
        reader = _Capped(inflated, limit=max_inflated, what="inflated body (INGEST_MAX_INFLATED_BYTES)")
    buffered = io.BufferedReader(reader, _BUFFER)
    return ndjson_records(buffered) if media_type in NDJSON_TYPES else json_records(buffered)


def json_records(stream: io.BufferedReader) -> Iterator[Any]:
    """The items of a JSON array, or of a Graph page's ``value`` array, streamed.

    Built from ijson's basic events with the nesting depth capped at ``MAX_DEPTH``: ijson's
    prefix-tracking parsers (``items``, ``kvitems``) use memory quadratic in the depth, so a
    200 KB body of brackets took 25 GB.
    """
    first = _first_byte(stream)
    if first == b"":
        raise UnreadableBody("The body is empty.")
    if first not in (b"[", b"{"):
        raise UnreadableBody('The body must be a JSON array of records or a Graph page {"value": [...]}.')
    events = _depth_capped(ijson.basic_parse(stream, use_float=True))
    try:
        next(events)  # the opening [ or {
        if first == b"[":
            yield from _array_items(events)
            return
        found = False
        for event, key in events:
            if event == "end_map":
                break
            event, value = next(events)  # event was "map_key": its value follows
            if key == "value" and event == "start_array":
                found = True
                yield from _array_items(events)
            else:
                _value(event, value, events)  # another member of the page: read past it
        if not found:
            raise UnreadableBody(
                'A JSON object body must be a Graph page with a "value" array; '
                "send records as a JSON array or as NDJSON."
            )
    except ijson.JSONError as exc:
        raise UnreadableBody(f"The body is not valid JSON: {exc}.")


MAX_DEPTH = 64  # Microsoft's records nest about 8 levels
_OPENS = frozenset({"start_map", "start_array"})
_CLOSES = frozenset({"end_map", "end_array"})


def _depth_capped(events: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    depth = 0
    for event, value in events:
        if event in _OPENS:
            depth += 1
            if depth > MAX_DEPTH:
                raise UnreadableBody(f"The body is nested deeper than {MAX_DEPTH} levels.")
        elif event in _CLOSES:
            depth -= 1
        yield event, value


def _array_items(events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    """The items of an array whose opening event was just read, up to its closing one."""
    for event, value in events:
        if event == "end_array":
            return
        yield _value(event, value, events)


def _value(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    """The JSON value that starts with ``event``: a scalar, or a container built from the events."""
    if event not in _OPENS:
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in _OPENS:
            depth += 1
        elif event in _CLOSES:
            depth -= 1
            if depth == 0:
                return builder.value
    raise UnreadableBody("The body ends in the middle of a record.")


def ndjson_records(stream: io.BufferedReader) -> Iterator[Any]:
    """One record per line; a line that is not JSON is that record's error."""
    for number, line in enumerate(stream, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            yield UnreadableRecord(f"line {number} is not valid JSON ({str(exc)[:200]})")


def csv_records(stream: io.BufferedReader) -> Iterator[Any]:
    """A Purview audit search export: each row's ``AuditData`` column holds one record.

    A CSV without that column (e.g. a Sentinel query export) gives each row as the record.
    """
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    columns = {name.lower(): name for name in reader.fieldnames or []}
    audit_data = columns.get("auditdata")
    for row in reader:
        if audit_data is None:
            yield row
            continue
        try:
            yield json.loads(row.get(audit_data) or "", parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            yield UnreadableRecord(f"line {reader.line_num}: AuditData is not valid JSON ({str(exc)[:200]})")


def file_records(path: Path, *, on_read: Callable[[int], None] | None = None) -> Iterator[Any]:
    """The records of a JSON, NDJSON or CSV file, gzip-compressed or not, streamed."""
    handle = open(path, "rb")  # noqa: SIM115 - closed when the generator finishes
    try:
        raw = io.BufferedReader(_Capped(handle, limit=None, what="file", on_read=on_read), _BUFFER)
        name = path.name.lower()
        if name.endswith(".gz") or raw.peek(2)[:2] == b"\x1f\x8b":
            name = name.removesuffix(".gz")
            raw = io.BufferedReader(_Capped(gzip.GzipFile(fileobj=raw, mode="rb"), limit=None, what="file"), _BUFFER)
        if name.endswith(".csv"):
            yield from csv_records(raw)
        elif name.endswith((".ndjson", ".jsonl")) or _looks_like_ndjson(raw):
            yield from ndjson_records(raw)
        else:
            yield from json_records(raw)
    finally:
        handle.close()


def _looks_like_ndjson(stream: io.BufferedReader) -> bool:
    """A ``.json`` file whose first line is a whole object that is not a Graph page."""
    head = stream.peek(_BUFFER)
    if head.lstrip()[:1] != b"{" or b"\n" not in head:
        return False
    try:
        first = json.loads(head.lstrip().split(b"\n", 1)[0])
    except ValueError:
        return False
    return isinstance(first, dict) and not isinstance(first.get("value"), list)


def _first_byte(stream: io.BufferedReader) -> bytes:
    while True:
        chunk = stream.peek(1)
        if not chunk:
            return b""
        stripped = chunk.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
        if stripped:
            stream.read(len(chunk) - len(stripped))
            return stripped[:1]
        stream.read(len(chunk))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")

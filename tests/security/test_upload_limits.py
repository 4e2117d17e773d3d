"""Bodies an attacker (or a broken forwarder) sends: oversize, gzip bombs, deep nesting, huge
strings, wrong types. Each gets a clear 4xx (or a per-record rejection), memory stays bounded and
nothing is stored. Basic 413/415/400 cases are in tests/alerts/api/test_ingest.py."""

import gzip
import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from django.urls import reverse

from alerts.activity.rules import recipients
from alerts.adapters.fields import email_addresses
from alerts.models import Alert, Event

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/ingest/{}/"
MB = 1024 * 1024


def record(**extra):
    return {"id": "r-1", "user": "megan@contoso.com", "occurred_at": "2024-05-01T08:30:00Z", "kind": "signin", **extra}


@pytest.fixture
def post(client, ingest_user, bearer):
    headers = bearer(ingest_user)

    def send(body: bytes, *, source="events", content_type="application/json", **extra):
        return client.generic("POST", INGEST.format(source), body, content_type=content_type, **headers, **extra)

    return send


def _gzip_stream(head: bytes, filler: bytes, total: int, tail: bytes) -> bytes:
    """``head + filler * n + tail`` gzip-compressed without building it in memory."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6) as zipped:
        zipped.write(head)
        chunk = filler * (MB // len(filler))
        for _ in range(total // len(chunk)):
            zipped.write(chunk)
        zipped.write(tail)
    return out.getvalue()


def _peak_during(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.slow
@pytest.mark.parametrize(
    ("head", "filler"),
    [(b"[", b" "), (b'[{"subject": "', b"A")],
    ids=["whitespace", "one-huge-string"],
)
def test_a_gzip_bomb_is_refused_with_bounded_memory(post, settings, head, filler):
    """256 MiB that compress to a quarter of a megabyte; the inflated limit stops it, memory stays small."""
    settings.INGEST_MAX_INFLATED_BYTES = 32 * MB
    bomb = _gzip_stream(head, filler, 256 * MB, b'"}]')
    assert len(bomb) < MB
    response, peak = _peak_during(lambda: post(bomb, HTTP_CONTENT_ENCODING="gzip"))
    assert response.status_code == 413
    assert "INGEST_MAX_INFLATED_BYTES" in response.json()["detail"]
    # What is inflated is parsed as it streams: at most the cap (one string) plus small buffers.
    assert peak < settings.INGEST_MAX_INFLATED_BYTES * 3, f"peak {peak / MB:.0f} MiB"
    assert Event.objects.count() == 0


def test_whitespace_bombs_are_parsed_in_constant_memory(post, settings):
    settings.INGEST_MAX_INFLATED_BYTES = 64 * MB
    body = _gzip_stream(b"[", b" ", 48 * MB, json.dumps(record()).encode() + b"]")
    response, peak = _peak_during(lambda: post(body, HTTP_CONTENT_ENCODING="gzip"))
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MiB for 48 MiB of whitespace"


def test_a_body_without_content_length_is_a_411(client, ingest_user, bearer):
    # The test client sets Content-Length only with a body; the content type is set by hand.
    response = client.generic(
        "POST", INGEST.format("events"), b"", CONTENT_TYPE="application/json", **bearer(ingest_user)
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain", "application/xml", ""],
)
def test_a_wrong_content_type_is_a_415_and_stores_nothing(post, content_type):
    response = post(json.dumps([record()]).encode(), content_type=content_type)
    assert response.status_code == 415
    assert "Content-Type" in response.json()["detail"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("source", ["events", "o365-audit", "entra-signins", "message-trace", "graph-alerts"])
def test_deeply_nested_json_is_a_clear_rejection_not_a_crash(post, source):
    deep = "[" * 100_000 + "]" * 100_000
    nested = '{"a":' * 100_000 + "1" + "}" * 100_000
    body = f'[{deep}, {{"user": "megan@contoso.com", "deep": {nested}}}]'.encode()
    response = post(body, source=source)
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 200:
        data = response.json()
        assert data["created"] == 0 and len(data["rejected"]) == 2
    assert Event.objects.count() == 0


NESTING_PROBE = r"""
import io, resource, django
django.setup()
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
from alerts.ingest.readers import UnreadableBody, json_records
body = b"[" + b'{"a":[' * 500_000 + b"1" + b"]}" * 500_000 + b"]"
try:
    list(json_records(io.BufferedReader(io.BytesIO(body))))
except UnreadableBody as exc:
    print("refused:", exc)
"""


def test_deep_nesting_is_refused_within_a_memory_limit():
    """Regression: ijson's prefix tracking took memory quadratic in the depth (a 200 KB body of
    brackets: 25 GB, the process was killed). Run under a 1.5 GB address-space limit."""
    result = subprocess.run(
        [sys.executable, "-c", NESTING_PROBE],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.django_settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: The body is nested deeper than 64 levels." in result.stdout


def test_deeply_nested_ndjson_is_that_line_rejected(post):
    body = b"[" * 200_000 + b"]" * 200_000 + b"\n" + json.dumps(record()).encode()
    response = post(body, content_type="application/x-ndjson")
    assert response.status_code == 200
    data = response.json()
    assert (data["created"], data["rejected"][0]["index"]) == (1, 0)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/alerts/bulk/", "/api/v1/investigations/", "/api/v1/actions/1/approve/"],
    ids=["bulk", "start", "approve"],
)
def test_deeply_nested_json_to_the_api_is_a_400(client, admin_user, bearer, url):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(url, body, content_type="application/json", **bearer(admin_user))
    assert response.status_code == 400, response.content[:300]
    assert Alert.objects.count() == 0


def test_huge_strings_are_cut_to_their_columns(post):
    huge = "S" * (8 * MB)
    response = post(json.dumps([record(subject=huge, user_agent=huge, target=huge, city=huge)]).encode())
    assert response.status_code == 200
    event = Event.objects.get()
    assert len(event.subject) == Event._meta.get_field("subject").max_length
    assert len(event.user_agent) == Event._meta.get_field("user_agent").max_length
    assert len(event.city) == Event._meta.get_field("city").max_length


def test_a_huge_form_post_to_a_page_is_a_400(analyst_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1 * MB
    body = "comment=" + "x" * (2 * MB)
    response = analyst_client.generic(
        "POST", reverse("alerts:alert_triage"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


def test_too_many_form_fields_is_a_400(analyst_client):
    body = "&".join(f"alert={n}" for n in range(5000))
    response = analyst_client.generic(
        "POST", reverse("alerts:alert_triage"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("extract", [email_addresses, recipients], ids=["adapters", "detectors"])
def test_address_extraction_from_a_megabyte_of_attacker_text_stays_linear(extract):
    """Regression: unbounded address regexes took quadratic time (a 40 KB forwarding address cost
    3 s in every detection and playbook run). A megabyte now takes well under a second; the bound
    here is loose so only the quadratic behaviour (minutes) can fail it."""
    import time

    for text in ("A" * MB, "a." * (MB // 2) + "@b.com", "x@" * (MB // 2)):
        started = time.monotonic()
        extract(text)
        assert time.monotonic() - started < 10

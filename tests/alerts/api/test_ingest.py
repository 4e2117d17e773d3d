"""``POST /api/v1/ingest/<source>/``: formats, limits, roles, idempotency, partial batches."""

import gzip
import json

import pytest

from alerts.models import Event
from tests.alerts.support.ingest import audit_logon, graph_signin

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/{}/"


@pytest.fixture
def post(client, ingest_user, bearer):
    headers = bearer(ingest_user)

    def send(source: str, body, *, content_type="application/json", **extra):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return client.post(URL.format(source), data=body, content_type=content_type, **headers, **extra)

    return send


def test_a_json_array_is_stored_and_counted(post):
    response = post("o365-audit", [audit_logon("r1"), audit_logon("r2")])
    assert response.status_code == 200
    assert response.json() == {"received": 2, "created": 2, "duplicates": 0, "rejected": [], "skipped": []}
    assert Event.objects.count() == 2


def test_a_graph_page_is_read_from_its_value(post):
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns", "value": [graph_signin()]}
    assert post("entra-signins", page).json()["created"] == 1


def test_ndjson_with_a_bad_line_rejects_only_that_line(post):
    body = b"\n".join([json.dumps(audit_logon("r1")).encode(), b"{oops", b"", json.dumps(audit_logon("r2")).encode()])
    data = post("o365-audit", body, content_type="application/x-ndjson").json()
    assert (data["received"], data["created"]) == (3, 2)
    assert data["rejected"][0]["index"] == 1
    assert data["rejected"][0]["error"].startswith("line 2 is not valid JSON")


def test_gzip_bodies_are_inflated(post):
    body = gzip.compress(json.dumps([audit_logon("r1")]).encode())
    assert post("o365-audit", body, HTTP_CONTENT_ENCODING="gzip").json()["created"] == 1


def test_reposting_creates_nothing(post):
    post("o365-audit", [audit_logon("r1")])
    assert post("o365-audit", [audit_logon("r1")]).json() == {
        "skipped": [],
        "received": 1,
        "created": 0,
        "duplicates": 1,
        "rejected": [],
    }
    assert Event.objects.count() == 1


def test_partial_batches_report_each_bad_record(post):
    data = post("o365-audit", [audit_logon("r1"), {"Operation": "UserLoggedIn"}, 42]).json()
    assert data["created"] == 1
    assert data["rejected"] == [
        {"index": 1, "error": "missing timestamp"},
        {"index": 2, "error": "a record must be a JSON object, not a number"},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"CreationTime": "2024-03-01T10:00:00"', "not valid JSON"),
        (b'"just a string"', "must be a JSON array"),
        (b'{"records": []}', 'Graph page with a "value" array'),
        (b"   ", "empty"),
    ],
)
def test_an_unreadable_body_is_a_400_and_stores_nothing(post, body, message):
    if body.startswith(b"[{"):
        body = json.dumps([audit_logon("r1")]).encode()[:-1] + b", {bad"  # a valid record, then garbage
    response = post("o365-audit", body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Event.objects.count() == 0


def test_invalid_gzip_is_a_400(post):
    response = post("o365-audit", b"not gzip at all", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert "not valid gzip" in response.json()["detail"]


def test_a_wrong_content_type_or_encoding_is_a_415(post):
    assert post("o365-audit", b"a,b", content_type="text/csv").status_code == 415
    assert post("o365-audit", b"[]", HTTP_CONTENT_ENCODING="br").status_code == 415


def test_a_body_over_the_limit_is_a_413(post, settings):
    settings.INGEST_MAX_BODY_BYTES = 100
    response = post("o365-audit", [audit_logon("r1"), audit_logon("r2")])
    assert response.status_code == 413
    assert "INGEST_MAX_BODY_BYTES" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_a_gzip_bomb_is_a_413_and_stores_nothing(post, settings):
    settings.INGEST_MAX_INFLATED_BYTES = 64 * 1024
    records = [audit_logon("r1")] + [audit_logon(f"pad{n}", Padding="x" * 1000) for n in range(200)]
    body = gzip.compress(json.dumps(records).encode())
    assert len(body) < settings.INGEST_MAX_INFLATED_BYTES
    response = post("o365-audit", body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert "INGEST_MAX_INFLATED_BYTES" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_an_unknown_source_is_a_404_with_the_known_ones(post):
    response = post("syslog", [])
    assert response.status_code == 404
    assert "o365-audit" in response.json()["detail"]


@pytest.mark.parametrize(
    ("persona", "status"), [("ingest", 200), ("admin", 200), ("analyst", 403), ("manager", 403), ("outsider", 403)]
)
def test_only_ingest_and_admin_roles_may_post(client, personas, bearer, persona, status):
    response = client.post(
        URL.format("o365-audit"),
        data=json.dumps([audit_logon("r1")]),
        content_type="application/json",
        **bearer(personas[persona]),
    )
    assert response.status_code == status
    assert Event.objects.count() == (1 if status == 200 else 0)


def test_anonymous_posts_are_refused(client):
    response = client.post(URL.format("o365-audit"), data="[]", content_type="application/json")
    assert response.status_code in (401, 403)


def test_the_openapi_schema_documents_the_events_record(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    record = schema["components"]["schemas"]["EventRecordRequest"]
    assert {"user", "occurred_at", "kind", "attributes"} <= set(record["properties"])
    assert "/api/v1/ingest/{source}/" in schema["paths"]


def test_valid_records_with_no_user_are_skipped_with_a_reason_not_rejected(post):
    no_user = {**audit_logon("svc"), "UserId": ""}
    body = post("o365-audit", [audit_logon("r1"), no_user, 7]).json()
    assert (body["received"], body["created"]) == (3, 1)
    assert body["skipped"] == [{"index": 1, "reason": "the record names no user (UserId is empty)"}]
    assert [item["index"] for item in body["rejected"]] == [2]

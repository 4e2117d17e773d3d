"""The audit log page: role checks, filters, keyset pages, CSV export, and the token-use rows."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from airportal.audit import audit_record
from airportal.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "page", "export"),
    [
        ("analyst", 200, 403),
        ("manager", 200, 200),
        ("admin", 200, 200),
        ("ingest", 403, 403),
        ("outsider", 403, 403),
    ],
)
def test_audit_pages_by_role(client, personas, persona, page, export):
    client.force_login(personas[persona])
    assert client.get(reverse("audit_list")).status_code == page
    assert client.get(reverse("audit_export")).status_code == export


def test_anonymous_is_sent_to_sign_in(client, db):
    for name in ("audit_list", "audit_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.fixture
def entries(analyst, manager):
    return {
        "approve": audit_record(actor=analyst, verb="action.approved", target=analyst, summary="approved"),
        "reject": audit_record(actor=manager, verb="action.rejected", target=manager, summary="rejected"),
        "settings": audit_record(actor=manager, verb="settings.changed", summary="SLA"),
        "system": audit_record(actor=None, verb="action.failed", summary="connector said no"),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": "maria"}, {"reject", "settings"}),
        ({"actor": "system"}, {"system"}),
        ({"verb": "action."}, {"approve", "reject", "system"}),
        ({"verb": "settings.changed"}, {"settings"}),
        ({"object_type": "auth.user"}, {"approve", "reject"}),
        ({"actor": "maria", "verb": "action."}, {"reject"}),
    ],
)
def test_audit_filters(client, manager, entries, filters, expected):
    client.force_login(manager)
    rows = client.get(reverse("audit_list"), filters).context["page"].rows
    mine = {entry.pk for entry in rows} & {entry.pk for entry in entries.values()}
    assert mine == {entries[name].pk for name in expected}


def test_audit_filters_by_object_id_and_period(client, manager, entries, analyst):
    client.force_login(manager)
    filters = {"object_type": "auth.user", "object_id": analyst.pk}
    rows = client.get(reverse("audit_list"), filters).context["page"].rows
    assert entries["approve"].pk in [entry.pk for entry in rows]
    assert {entry.object_id for entry in rows} == {str(analyst.pk)}
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert list(client.get(reverse("audit_list"), {"since": tomorrow}).context["page"].rows) == []


def test_audit_page_is_keyset_paginated_newest_first(client, manager):
    for index in range(105):
        audit_record(actor=None, verb="test.page", summary=str(index))
    client.force_login(manager)
    first = client.get(reverse("audit_list"), {"verb": "test."}).context["page"]
    assert [entry.summary for entry in first.rows[:2]] == ["104", "103"]
    second = client.get(reverse("audit_list"), {"verb": "test.", "cursor": first.next_cursor}).context["page"]
    assert [entry.summary for entry in second.rows] == ["4", "3", "2", "1", "0"]
    assert second.next_cursor is None


def test_audit_page_query_count_is_fixed(client, manager, django_assert_num_queries):
    client.force_login(manager)
    for index in range(3):
        audit_record(actor=manager, verb="test.count", summary=str(index))
    # session, user, permissions (x2), page, nav/export capability checks are cached.
    with django_assert_num_queries(5):
        client.get(reverse("audit_list"))
    for index in range(30):
        audit_record(actor=None, verb="test.count", summary=str(index))
    with django_assert_num_queries(5):
        client.get(reverse("audit_list"))


def test_attacker_text_in_the_audit_log_is_escaped(client, manager):
    audit_record(actor=None, verb="user.sign_in_failed", summary="Failed sign-in as '<img src=x onerror=alert(1)>'")
    client.force_login(manager)
    html = client.get(reverse("audit_list")).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_audit_csv_export_matches_filters_and_escapes_formulas(client, manager, entries):
    audit_record(actor=None, verb="user.sign_in_failed", summary="=cmd|' /C calc'!A0")
    client.force_login(manager)
    response = client.get(reverse("audit_export"), {"actor": "system", "verb": "user.sign_in_failed"})
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["summary"] for row in rows] == ["'=cmd|' /C calc'!A0"]
    response = client.get(reverse("audit_export"), {"actor": "system"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["actor"] for row in rows} == {"system"}
    assert {"action.failed", "user.sign_in_failed"} <= {row["verb"] for row in rows}


def test_token_use_is_audited_at_most_once_an_hour(client, analyst, bearer):
    headers = bearer(analyst)
    for _ in range(3):
        assert client.get("/api/schema/", **headers).status_code == 200
    assert AuditEntry.objects.filter(verb="token.used").count() == 1
    entry = AuditEntry.objects.get(verb="token.used")
    assert entry.actor == analyst
    assert entry.ip == "127.0.0.1"
    # An hour later (and past the last-used resolution), the next use is audited again.
    earlier = timezone.now() - timedelta(minutes=61)
    ApiToken.objects.update(last_used_at=earlier, last_audited_at=earlier)
    client.get("/api/schema/", **headers)
    client.get("/api/schema/", **headers)
    assert AuditEntry.objects.filter(verb="token.used").count() == 2


def test_signins_are_in_the_audit_log_page(client, analyst, manager):
    client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    client.force_login(manager)
    rows = client.get(reverse("audit_list"), {"verb": "user.signed_in", "actor": "alice"}).context["page"].rows
    assert [(entry.actor_label, entry.ip) for entry in rows] == [("alice", "127.0.0.1")]

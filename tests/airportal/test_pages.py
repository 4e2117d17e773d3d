"""Who may open which page of the shell; later apps extend the role matrix in their own tests."""

import pytest
from django.urls import reverse

from airportal.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_anonymous_dashboard_redirects_to_sign_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "status"), [("analyst", 200), ("manager", 200), ("admin", 200), ("ingest", 403), ("outsider", 403)]
)
def test_dashboard_by_role(client, personas, persona, status):
    client.force_login(personas[persona])
    assert client.get(reverse("dashboard")).status_code == status


def test_sign_in_page_and_sign_in_are_audited(client, analyst):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(verb="user.signed_in", actor=analyst).exists()


def test_failed_sign_in_is_audited_without_the_password(client, analyst):
    client.post(reverse("login"), {"username": "alice", "password": "wrong-password-123"})
    entry = AuditEntry.objects.get(verb="user.sign_in_failed")
    assert "alice" in entry.summary
    assert "wrong-password-123" not in str(entry.summary) + str(entry.changes)


def test_sign_out_needs_post(analyst_client):
    assert analyst_client.get(reverse("logout")).status_code == 405
    assert analyst_client.post(reverse("logout")).status_code == 302


def test_pages_have_no_inline_scripts(analyst_client):
    html = analyst_client.get(reverse("dashboard")).content.decode()
    assert "<script>" not in html
    assert "/static/vendor/htmx.min.js" in html
    assert "hx-headers" in html


def test_api_schema_needs_sign_in(client, analyst):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(analyst)
    assert client.get("/api/schema/").status_code == 200


def test_audit_log_refuses_update_and_delete_on_postgres(require_postgres, analyst):
    from django.db import DatabaseError, transaction

    from airportal.audit import audit_record

    entry = audit_record(actor=analyst, verb="test.recorded")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(verb="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).verb == "test.recorded"


def test_sign_in_is_throttled_after_five_failures(client, analyst):
    for _ in range(5):
        client.post(reverse("login"), {"username": "alice", "password": "wrong-password-123"})
    # Even the right password is refused while the throttle holds.
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_failures_of_another_user_from_another_ip_do_not_block(client, analyst):
    for _ in range(5):
        client.post(reverse("login"), {"username": "mallory", "password": "x"}, REMOTE_ADDR="198.51.100.7")
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct-horse-battery"}, REMOTE_ADDR="192.0.2.1"
    )
    assert response.status_code == 302

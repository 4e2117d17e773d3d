"""CSRF: every state-changing view refuses a request without the token; the API refuses a
session-authenticated write without it and accepts a Bearer-token write (no cookie, no CSRF)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from airportal.models import AuditEntry
from alerts.models import Event
from tests.security.urlmap import ROUTES, world_build

WRITERS = sorted(name for name, route in ROUTES.items() if route.writes)


def _state() -> tuple[int, int]:
    return AuditEntry.objects.exclude(verb="token.used").count(), Event.objects.count()


def _post(client, path: str, data, **headers):
    if path.startswith("/api/"):
        return client.post(path, json.dumps(data), content_type="application/json", **headers)
    return client.post(path, data, **headers)


def _csrf_token(client) -> str:
    client.get(reverse("dashboard"))  # every page carries the token (hx-headers on <body>)
    return client.cookies["csrftoken"].value


def test_the_list_of_state_changing_views_is_not_empty():
    assert len(WRITERS) > 30  # the URL map drives this file; an empty list would test nothing


@pytest.mark.parametrize("name", WRITERS)
def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(name, admin_user):
    route = ROUTES[name]
    world = world_build(admin_user)
    path = reverse(name, kwargs=route.kwargs(world))
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    before = _state()
    refused = _post(client, path, route.data(world))
    assert refused.status_code == 403, f"POST {path} without a CSRF token: {refused.status_code}"
    assert b"CSRF" in refused.content
    assert _state() == before

    # The same request with the token gets past the check (so the refusal above was CSRF's).
    accepted = _post(client, path, route.data(world), HTTP_X_CSRFTOKEN=_csrf_token(client))
    assert accepted.status_code != 403 or b"CSRF" not in accepted.content, accepted.content[:300]


def test_the_api_accepts_a_bearer_token_write_without_csrf(admin_user, bearer):
    world = world_build(admin_user)
    client = Client(enforce_csrf_checks=True)
    path = reverse("api_alert_start", kwargs={"alert_id": world.alert.pk})
    response = client.post(path, "{}", content_type="application/json", **bearer(admin_user))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"


def test_a_signed_in_browser_cannot_be_used_to_ingest_across_sites(admin_user):
    """A page on another site posting to the ingest API with the admin's session cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    record = {"id": "x", "user": "megan@contoso.com", "occurred_at": "2024-05-01T08:30:00Z", "kind": "signin"}
    response = client.post(
        "/api/v1/ingest/events/", json.dumps([record]), content_type="application/json", HTTP_ORIGIN="https://evil.test"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_a_signed_in_admin_with_the_csrf_token_can_ingest(admin_user):
    """Regression: the CSRF check of a session read ``request.POST``, which ran the ingest parser (500)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    record = {"id": "x", "user": "megan@contoso.com", "occurred_at": "2024-05-01T08:30:00Z", "kind": "signin"}
    response = client.post(
        "/api/v1/ingest/events/",
        json.dumps([record]),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=_csrf_token(client),
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert Event.objects.get().identity.upn == "megan@contoso.com"

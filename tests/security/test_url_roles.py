"""Every URL of the URLconf, requested anonymously and as each persona with every method: nothing
answers 2xx that the DESIGN.md role table forbids, and a refused request writes nothing.

The expectations live in ``tests/security/urlmap.py``; a URL name without an entry there fails
``test_every_url_name_has_an_expectation`` (so a new view cannot ship without a role check).
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from airportal.models import AuditEntry
from airportal.tokens import api_token_create
from tests.security.urlmap import ANONYMOUS, DESIGN_ROLES, PERSONAS, ROUTES, url_names, world_build

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Rows written by authentication itself, not by the view that refused.
AUTH_VERBS = ("token.used", "token.created", "user.sign_in_failed")


def test_every_url_name_has_an_expectation():
    found = dict(url_names())
    assert "" not in found, f"an unnamed URL pattern cannot be checked: {found['']}"
    missing = sorted(set(found) - set(ROUTES))
    assert not missing, f"URL names without an entry in tests/security/urlmap.py ROUTES: {missing}"
    stale = sorted(set(ROUTES) - set(found))
    assert not stale, f"ROUTES names URLs that no longer exist: {stale}"


def test_every_expectation_names_a_row_of_the_role_table():
    for name, route in ROUTES.items():
        for method in route.methods:
            assert route.right_for(method) in DESIGN_ROLES, name


def _is_api(path: str) -> bool:
    return path.startswith("/api/v1/")


class Caller:
    """Sends one request as one persona: a session for pages, a Bearer token for /api/v1/."""

    def __init__(self, persona: str, user):
        self.persona = persona
        self.session = Client()
        self.token_headers = {}
        if user is not None:
            self.session.force_login(user)
            _, raw = api_token_create(user=user, name="roles test")
            self.token_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def send(self, method: str, path: str, data):
        if _is_api(path):
            body = json.dumps(data if data is not None else {})
            return Client().generic(method, path, body, content_type="application/json", **self.token_headers)
        if method == "GET":
            return self.session.get(path)
        if method == "POST":
            return self.session.post(path, data or {})
        return self.session.generic(method, path, "")


def _writes() -> int:
    return AuditEntry.objects.exclude(verb__in=AUTH_VERBS).count()


def _refused(response, *, persona: str) -> bool:
    """A refusal: 403 for someone signed in; sign-in redirect, 401 or 403 for the anonymous."""
    if persona != ANONYMOUS:
        return response.status_code == 403
    if response.status_code == 302:
        return response.url.startswith(reverse("login"))
    return response.status_code in (401, 403)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_nothing_answers_a_persona_the_role_table_forbids(name, personas):
    route = ROUTES[name]
    world = world_build(personas["admin"])
    path = reverse(name, kwargs=route.kwargs(world))
    callers = [Caller(ANONYMOUS, None)] + [Caller(persona, personas[persona]) for persona in PERSONAS]
    failures = []
    for caller in callers:
        for method in METHODS:
            allowed = caller.persona in DESIGN_ROLES[route.right_for(method)]
            data = route.data(world) if method != "GET" else None
            before = _writes()
            response = caller.send(method, path, data)
            status = response.status_code
            where = f"{method} {path} as {caller.persona}: {status}"
            if status >= 500:
                failures.append(f"{where} (server error)")
            elif method not in route.methods:
                if 200 <= status < 300:
                    failures.append(f"{where}: a method the view should not answer")
            elif not allowed:
                if not _refused(response, persona=caller.persona):
                    failures.append(f"{where}: the role table forbids it")
                if _writes() != before:
                    failures.append(f"{where}: a refused request wrote to the audit log")
            elif status in (401, 403):
                failures.append(f"{where}: the role table allows it")
    assert not failures, "\n".join(failures)


def test_static_files_are_public(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"{" in b"".join(response.streaming_content)


def test_an_invalid_set_password_link_shows_no_form(client, db):
    page = client.get(reverse("password_set", kwargs={"uidb64": "MQ", "token": "forged-token"}), follow=True)
    assert page.status_code == 200
    assert b"new_password1" not in page.content

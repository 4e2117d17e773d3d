"""Sign-in throttling, production cookies and HSTS, password validators, hashed tokens, and
secrets (API tokens, the M365 client secret, passwords) never in logs, the audit log or pages.

``check --deploy`` is tested in tests/airportal/test_deploy.py; the basic throttle and the
hashed-token row in tests/airportal/test_pages.py and test_tokens.py.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from airportal.models import ApiToken, AuditEntry
from airportal.roles import Role
from airportal.services import user_invite, user_set_password_link
from m365.models import M365Connection
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


def _sign_in(client, username, password, ip):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- Sign-in throttling ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_password_spray_from_one_address_is_throttled_for_every_account(client):
    """Five users, one wrong password each, from one IP: the sixth sign-in from there is refused
    even with the right password, and answers like any failure (no hint it was right)."""
    for n in range(5):
        UserFactory(username=f"sprayed{n}")
        _sign_in(client, f"sprayed{n}", "Winter2024!", "198.51.100.9")
    UserFactory(username="victim")
    refused = _sign_in(client, "victim", PASSWORD, "198.51.100.9")
    assert refused.status_code == 200
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in client.session
    # The same account from another address is not locked out by the spray.
    assert _sign_in(Client(), "victim", PASSWORD, "192.0.2.44").status_code == 302


@pytest.mark.django_db
def test_a_throttled_account_is_refused_from_every_address(client, analyst):
    for n in range(5):
        _sign_in(client, "alice", "guess-" + str(n), f"203.0.113.{n + 1}")
    refused = _sign_in(Client(), "alice", PASSWORD, "192.0.2.200")
    assert b"Too many failed sign-ins" in refused.content
    assert AuditEntry.objects.filter(verb="user.sign_in_failed").count() == 5
    assert not AuditEntry.objects.filter(verb="user.signed_in").exists()


@pytest.mark.django_db
def test_the_username_case_does_not_escape_the_throttle(client, analyst):
    for n in range(5):
        _sign_in(client, "ALICE" if n % 2 else "alice", "wrong", f"203.0.113.{n + 1}")
    assert b"Too many failed sign-ins" in _sign_in(Client(), "Alice", PASSWORD, "192.0.2.7").content


# --- Production mode: cookies, HSTS, HTTPS redirect --------------------------------------------------

PRODUCTION_PROBE = r"""
import json, django
from django.conf import settings
django.setup()
from django.core.management import call_command
from django.test import Client, override_settings
from django.contrib.auth import get_user_model
call_command("migrate", verbosity=0)
get_user_model().objects.create_user("prod", password="correct-horse-battery")
# Only the static storage differs from production (no collectstatic manifest in a test run).
with override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
    client = Client(HTTP_HOST="air.example.com")
    plain = client.get("/login/")
    page = client.get("/login/", secure=True)
    token = page.cookies["csrftoken"].value
    signed_in = client.post("/login/", {"username": "prod", "password": "correct-horse-battery",
                                         "csrfmiddlewaretoken": token}, secure=True)
def flags(morsel):
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.headers.get("Location", ""),
    "hsts": page.headers.get("Strict-Transport-Security", ""),
    "csp": page.headers.get("Content-Security-Policy", ""),
    "frame": page.headers.get("X-Frame-Options", ""),
    "nosniff": page.headers.get("X-Content-Type-Options", ""),
    "csrf_cookie": flags(page.cookies["csrftoken"]),
    "signed_in": signed_in.status_code,
    "session_cookie": flags(signed_in.cookies["sessionid"]),
}))
"""


@pytest.mark.slow
def test_production_mode_sends_secure_cookies_hsts_and_redirects_to_https(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}},
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "air.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "AIRPORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "airportal.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301 and seen["plain_location"].startswith("https://air.example.com/")
    assert "max-age=31536000" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert "script-src 'self'" in seen["csp"] and "'unsafe-inline'" not in seen["csp"].split("style-src")[0]
    assert (seen["frame"], seen["nosniff"]) == ("DENY", "nosniff")
    assert (seen["csrf_cookie"]["secure"], seen["csrf_cookie"]["samesite"]) == (True, "Lax")
    assert seen["signed_in"] == 302
    assert seen["session_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}


# --- Passwords ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "weak", ["short-1", "password1234", "123456789012", "ada.lovelace-2024"], ids=["short", "common", "numeric", "like"]
)
def test_weak_passwords_are_refused(weak):
    user = UserFactory(username="ada.lovelace", first_name="Ada", last_name="Lovelace")
    with pytest.raises(ValidationError):
        validate_password(weak, user=user)


@pytest.mark.django_db
def test_the_invitation_link_refuses_a_weak_password(client, admin_user):
    user = user_invite(username="newbie", role=Role.ANALYST, actor=admin_user)
    form = client.get(user_set_password_link(user=user), follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 200
    assert b"too common" in response.content or b"too short" in response.content
    user.refresh_from_db()
    assert not user.has_usable_password()


# --- Secrets --------------------------------------------------------------------------------------


def _everything_stored() -> str:
    """Every audit row and token row, as text."""
    rows = list(AuditEntry.objects.values()) + list(ApiToken.objects.values())
    return json.dumps(rows, default=str)


@pytest.mark.django_db
def test_a_new_api_token_is_shown_once_and_never_logged_or_stored(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = admin_client.post(reverse("admin_tokens"), {"username": "svc-siem", "role": "ingest", "name": "SIEM"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    raw = next(word for word in created.content.decode().split() if "air_" in word)
    raw = raw[raw.index("air_") :].split("<")[0].split('"')[0]
    assert len(raw) > 30
    # It works, and nothing afterwards shows or keeps it.
    used = Client().get("/api/v1/alerts/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert used.status_code == 403  # an ingest token may not read alerts, but it authenticated
    listing = admin_client.get(reverse("admin_tokens")).content.decode()
    assert raw not in listing
    assert raw not in _everything_stored()
    assert raw not in caplog.text


@pytest.mark.django_db
def test_the_m365_client_secret_is_stored_encrypted_and_never_shown_or_logged(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Sup3r~Secret.Value_from-Entra_0123456789"
    saved = admin_client.post(
        reverse("alerts:connector_settings"),
        {
            "tenant_id": "4a1c6f9e-2d7b-4c51-9a43-8f3e0b6d2c10",
            "client_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "client_secret": secret,
            "feeds": ["audit"],
            "accepted_domains": "contoso.com",
        },
        follow=True,
    )
    assert saved.status_code == 200, saved.content[:500]
    assert secret not in saved.content.decode()
    connection = M365Connection.objects.get()
    assert connection.credential_encrypted and secret not in json.dumps(
        list(M365Connection.objects.values()), default=str
    )
    assert secret not in admin_client.get(reverse("alerts:connector_settings")).content.decode()
    assert secret not in _everything_stored()
    assert secret not in caplog.text


@pytest.mark.django_db
def test_a_failed_password_is_not_logged(client, analyst, caplog):
    caplog.set_level(logging.DEBUG)
    _sign_in(client, "alice", "my-secret-guess-42", "192.0.2.5")
    assert "my-secret-guess-42" not in caplog.text
    assert "my-secret-guess-42" not in _everything_stored()

"""Administration: admin only; users and roles, API tokens, tenant settings — each change audited."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from airportal.models import ApiToken, AuditEntry
from airportal.roles import Role, user_role
from airportal.services import portal_settings_get
from airportal.tokens import api_token_create

pytestmark = pytest.mark.django_db

PAGES = ["admin_home", "admin_users", "admin_tokens", "admin_settings"]


@pytest.mark.parametrize(
    ("persona", "status"), [("analyst", 403), ("manager", 403), ("admin", 200), ("ingest", 403), ("outsider", 403)]
)
def test_admin_pages_by_role(client, personas, persona, status):
    client.force_login(personas[persona])
    for name in PAGES:
        assert client.get(reverse(name)).status_code == status, name


@pytest.mark.parametrize("persona", ["analyst", "manager"])
def test_non_admins_cannot_post_changes(client, personas, persona, admin_user):
    client.force_login(personas[persona])
    token, _ = api_token_create(user=admin_user)
    posts = [
        (reverse("admin_users"), {"username": "eve", "role": "admin"}),
        (reverse("admin_user_role", args=[personas[persona].pk]), {"role": "admin"}),
        (reverse("admin_user_deactivate", args=[admin_user.pk]), {}),
        (reverse("admin_tokens"), {"username": "eve", "role": "admin"}),
        (reverse("admin_token_revoke", args=[token.pk]), {}),
        (reverse("admin_settings"), {"action_sla_minutes": 1, "alert_sla_minutes": 1}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not get_user_model().objects.filter(username="eve").exists()
    assert user_role(personas[persona]) != Role.ADMIN


def test_anonymous_is_sent_to_sign_in(client, db):
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_navigation_shows_administration_to_admins_only(client, admin_user, manager):
    client.force_login(manager)
    assert reverse("admin_home") not in client.get(reverse("investigations:reports")).content.decode()
    client.force_login(admin_user)
    assert reverse("admin_home") in client.get(reverse("investigations:reports")).content.decode()


# --- Users ---------------------------------------------------------------------------------------


def _link(response) -> str:
    match = re.search(r'<div class="secret-once">(http[^<]+)</div>', response.content.decode())
    assert match, "the one-time link is shown"
    return match.group(1).replace("http://testserver", "")


def test_invite_creates_the_user_with_a_role_and_a_one_time_link(client, admin_client):
    response = admin_client.post(
        reverse("admin_users"), {"username": "nina", "email": "nina@contoso.com", "role": "manager"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    nina = get_user_model().objects.get(username="nina")
    assert user_role(nina) == Role.MANAGER
    assert not nina.has_usable_password()
    assert set(AuditEntry.objects.filter(object_id=str(nina.pk)).values_list("verb", flat=True)) == {
        "user.invited",
        "user.role_changed",
    }
    link = _link(response)
    # The invited person opens the link (Django moves the token into the session) and sets a password.
    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
    )
    assert done.status_code == 302
    assert done.url == reverse("login")
    nina.refresh_from_db()
    assert nina.check_password("a-long-new-passphrase")
    assert AuditEntry.objects.filter(verb="user.password_set", actor=nina).exists()
    # The link worked once.
    again = client.get(link, follow=True)
    assert not again.context["validlink"]
    assert b"no longer valid" in again.content


def test_set_password_link_enforces_the_password_rules(client, admin_client):
    response = admin_client.post(reverse("admin_users"), {"username": "nina", "role": "analyst"})
    link = _link(response)
    client.logout()
    page = client.get(link, follow=True)
    refused = client.post(page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})
    assert refused.status_code == 200
    assert b"too short" in refused.content
    assert not get_user_model().objects.get(username="nina").has_usable_password()


def test_invite_refuses_an_existing_username_with_a_clear_error(admin_client, analyst):
    response = admin_client.post(reverse("admin_users"), {"username": "ALICE", "role": "admin"})
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert user_role(analyst) == Role.ANALYST


def test_invite_refuses_roles_that_are_not_for_people(admin_client):
    response = admin_client.post(reverse("admin_users"), {"username": "svc", "role": "ingest"})
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="svc").exists()


def test_change_role_is_audited(admin_client, analyst):
    response = admin_client.post(reverse("admin_user_role", args=[analyst.pk]), {"role": "manager"})
    assert response.status_code == 302
    assert user_role(analyst) == Role.MANAGER
    entry = AuditEntry.objects.filter(verb="user.role_changed", object_id=str(analyst.pk)).latest("id")
    assert entry.actor_label == "ada"
    assert entry.changes == {"before": ["analyst"], "after": ["manager"]}


def test_the_last_admin_cannot_be_demoted_or_deactivated(client, admin_client, admin_user):
    admin_client.post(reverse("admin_user_role", args=[admin_user.pk]), {"role": "analyst"})
    assert user_role(admin_user) == Role.ADMIN
    messages = [str(m) for m in admin_client.get(reverse("admin_users")).context["messages"]]
    assert any("last active admin" in message for message in messages)


def test_deactivation_signs_out_and_stops_tokens(client, admin_client, analyst, bearer):
    headers = bearer(analyst)
    other = client.__class__()
    other.force_login(analyst)
    assert other.get(reverse("dashboard")).status_code == 200
    admin_client.post(reverse("admin_user_deactivate", args=[analyst.pk]))
    analyst.refresh_from_db()
    assert not analyst.is_active
    assert other.get(reverse("dashboard")).status_code == 302  # the session no longer signs in
    assert other.get("/api/schema/", **headers).status_code == 401
    assert AuditEntry.objects.filter(verb="user.deactivated", object_id=str(analyst.pk)).count() == 1
    # Twice is a clear no-op, and reactivating restores access.
    admin_client.post(reverse("admin_user_deactivate", args=[analyst.pk]))
    assert AuditEntry.objects.filter(verb="user.deactivated", object_id=str(analyst.pk)).count() == 1
    admin_client.post(reverse("admin_user_reactivate", args=[analyst.pk]))
    analyst.refresh_from_db()
    assert analyst.is_active
    assert other.get("/api/schema/", **headers).status_code == 200


def test_admin_cannot_deactivate_themselves(admin_client, admin_user):
    admin_client.post(reverse("admin_user_deactivate", args=[admin_user.pk]))
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_new_password_link_is_audited(admin_client, analyst):
    response = admin_client.post(reverse("admin_user_password_link", args=[analyst.pk]))
    assert "/set-password/" in _link(response)
    assert AuditEntry.objects.filter(verb="user.password_link_issued", object_id=str(analyst.pk)).exists()


def test_user_list_query_count_is_fixed(admin_client, personas, django_assert_num_queries):
    # session, user, permissions (x2), users with their groups (2).
    with django_assert_num_queries(6):
        admin_client.get(reverse("admin_users"))
    for index in range(5):
        get_user_model().objects.create(username=f"extra{index}")
    with django_assert_num_queries(6):
        response = admin_client.get(reverse("admin_users"))
    assert len(response.context["rows"]) == len(personas) + 5


# --- API tokens ----------------------------------------------------------------------------------


def test_token_is_created_with_a_role_and_shown_once(client, admin_client):
    response = admin_client.post(reverse("admin_tokens"), {"username": "siem", "role": "ingest", "name": "SIEM"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(r'<div class="secret-once">(air_[^<]+)</div>', response.content.decode()).group(1)
    token = ApiToken.objects.get(name="SIEM")
    assert user_role(token.user) == Role.INGEST
    assert AuditEntry.objects.filter(verb="token.created", object_id=str(token.pk), actor_label="ada").exists()
    listing = admin_client.get(reverse("admin_tokens")).content.decode()
    assert secret not in listing
    assert token.prefix in listing
    assert "never" in listing  # not used yet
    # The token works with its role, and the list then shows its last use.
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_revocation_is_audited_and_idempotent(client, admin_client, analyst):
    token, raw = api_token_create(user=analyst)
    admin_client.post(reverse("admin_token_revoke", args=[token.pk]))
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    admin_client.post(reverse("admin_token_revoke", args=[token.pk]))
    assert AuditEntry.objects.filter(verb="token.revoked", object_id=str(token.pk)).count() == 1


def test_token_list_query_count_is_fixed(admin_client, analyst, manager, django_assert_num_queries):
    api_token_create(user=analyst)
    with django_assert_num_queries(5):
        admin_client.get(reverse("admin_tokens"))
    for _ in range(4):
        api_token_create(user=manager, created_by=analyst)
    with django_assert_num_queries(5):
        admin_client.get(reverse("admin_tokens"))


# --- Settings ------------------------------------------------------------------------------------


def test_settings_change_is_saved_and_audited(admin_client):
    response = admin_client.post(
        reverse("admin_settings"),
        {
            "accepted_domains": "Contoso.com\ncontoso.co.uk, contoso.com",
            "four_eyes_action_kinds": ["disable_account"],
            "action_sla_minutes": 30,
            "alert_sla_minutes": 120,
            "event_retention_days": 180,
            "investigation_lookback_days": 21,
        },
    )
    assert response.status_code == 302
    settings = portal_settings_get()
    assert settings.accepted_domains == ["contoso.com", "contoso.co.uk"]
    assert settings.four_eyes_action_kinds == ["disable_account"]
    assert (settings.action_sla_minutes, settings.alert_sla_minutes) == (30, 120)
    assert settings.investigation_lookback_days == 21
    entry = AuditEntry.objects.get(verb="settings.changed")
    assert entry.actor_label == "ada"
    assert entry.changes["after"]["action_sla_minutes"] == 30
    assert entry.changes["before"]["action_sla_minutes"] == 60


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accepted_domains", "contoso.com\nnot a domain", b"is not a domain name"),
        ("action_sla_minutes", "0", b"greater than or equal to 1"),
        ("four_eyes_action_kinds", "launch_missiles", b"Select a valid choice"),
        ("investigation_lookback_days", "0", b"greater than or equal to 1"),
        ("investigation_lookback_days", "31", b"less than or equal to 30"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_saved(admin_client, field, value, message):
    data = {
        "accepted_domains": "contoso.com",
        "action_sla_minutes": 45,
        "alert_sla_minutes": 90,
        "event_retention_days": 180,
        "investigation_lookback_days": 14,
        field: value,
    }
    response = admin_client.post(reverse("admin_settings"), data)
    assert response.status_code == 400
    assert message in response.content
    settings = portal_settings_get()
    assert settings.accepted_domains == [] and settings.action_sla_minutes == 60
    assert not AuditEntry.objects.filter(verb="settings.changed").exists()

import pytest
from django.core.management import CommandError, call_command

from airportal.models import ApiToken
from airportal.roles import Role, user_role
from airportal.tokens import api_token_authenticate, api_token_revoke

pytestmark = pytest.mark.django_db


def _create(capsys, *args):
    call_command("createapitoken", *args)
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_createapitoken_creates_the_user_and_prints_a_working_token(capsys):
    raw = _create(capsys, "collector", "--role", "ingest")
    token = api_token_authenticate(raw)
    assert token is not None
    assert token.user.username == "collector"
    assert user_role(token.user) == Role.INGEST
    assert not token.user.has_usable_password()


def test_token_is_stored_hashed(capsys):
    raw = _create(capsys, "collector", "--role", "ingest")
    row = ApiToken.objects.get()
    assert raw not in (row.key_hash, row.prefix, row.name)
    assert len(row.key_hash) == 64


def test_second_token_for_existing_user_changes_role(capsys, analyst):
    _create(capsys, "alice", "--role", "manager")
    assert user_role(analyst) == Role.MANAGER
    assert ApiToken.objects.filter(user=analyst).count() == 1


def test_revoked_and_wrong_tokens_get_401(client, capsys, admin_user):
    raw = _create(capsys, "collector", "--role", "analyst")
    ok = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ok.status_code == 200
    wrong = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw[:-2]}xx")
    assert wrong.status_code == 401
    api_token_revoke(token=ApiToken.objects.get(), actor=admin_user)
    revoked = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert revoked.status_code == 401
    assert b"revoked" in revoked.content


def test_unknown_role_is_refused(capsys):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("createapitoken", "x", "--role", "root")

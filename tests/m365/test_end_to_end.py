"""The connector through the product's own paths: configured on the page, actions approved and undone
through the API and run by the remediation task, a pull cycle; the secret appears nowhere."""

import json
import logging

import pytest
from django.urls import reverse

from airportal.models import AuditEntry
from airportal.services import portal_settings_get, portal_settings_update
from alerts.feeds.cycle import m365_pull_cycle
from investigations.models import Action
from investigations.services.remediation import action_execute
from tests.factories import ActionFactory, IdentityFactory
from tests.m365.records import MEGAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured_on_the_page(fake_microsoft, settings, admin_client):
    """The secret reaches AIR Portal only through the Connectors page."""
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""
    settings.REMEDIATION_CONNECTOR = ""
    response = admin_client.post(
        reverse("alerts:connector_settings"),
        {
            "tenant_id": fake_microsoft.tenant_id,
            "client_id": fake_microsoft.client_id,
            "client_secret": fake_microsoft.client_secret,
            "feeds": ["audit", "signins", "alerts", "message_trace"],
            "accepted_domains": "contoso.com",
        },
    )
    assert response.status_code == 302
    return fake_microsoft


def test_an_approved_action_runs_on_the_tenant_and_its_undo_too_without_the_secret_showing_anywhere(
    configured_on_the_page, client, analyst, bearer, caplog, django_capture_on_commit_callbacks, tenant_logs
):
    fake = configured_on_the_page
    caplog.set_level(logging.DEBUG)
    fake.add_user(MEGAN)
    fake.add_rule(MEGAN, "Invoices", MoveToFolder="RSS Feeds")
    portal_settings_update(actor=None, four_eyes_action_kinds=[])
    assert portal_settings_get().four_eyes_action_kinds == []
    identity = IdentityFactory(upn=MEGAN)
    action = ActionFactory(
        investigation__identity=identity, identity=identity, kind=Action.Kind.REMOVE_INBOX_RULE, target="Invoices"
    )
    headers = bearer(analyst)
    responses = []

    with django_capture_on_commit_callbacks(execute=True):
        responses.append(client.post(f"/api/v1/actions/{action.pk}/approve/", {"comment": "bad rule"}, **headers))
    action.refresh_from_db()
    assert (action.status, action.connector) == (Action.Status.SUCCEEDED, "msgraph"), action.error
    assert fake.rules[MEGAN] == {}

    with django_capture_on_commit_callbacks(execute=True):
        responses.append(client.post(f"/api/v1/actions/{action.pk}/undo/", {"comment": "false positive"}, **headers))
    assert [rule["Name"] for rule in fake.rules[MEGAN].values()] == ["Invoices"]

    responses.append(client.get(f"/api/v1/actions/{action.pk}/", **headers))
    assert m365_pull_cycle().ok
    responses.append(client.get(reverse("alerts:connector_settings")))  # ``client`` is the admin's session
    texts = [caplog.text, json.dumps(list(AuditEntry.objects.values("summary", "changes")), default=str)]
    texts += [response.content.decode() for response in responses]
    assert all(fake.client_secret not in text for text in texts)
    assert all(response.status_code < 400 for response in responses[:3]), [r.content for r in responses]


def test_throttling_from_graph_makes_the_remediation_task_retry_after_the_services_retry_after(
    fake_microsoft, settings
):
    settings.REMEDIATION_CONNECTOR = ""
    megan = fake_microsoft.add_user(MEGAN)
    identity = IdentityFactory(upn=MEGAN)
    action = ActionFactory(
        investigation__identity=identity,
        identity=identity,
        kind=Action.Kind.REVOKE_SESSIONS,
        status=Action.Status.APPROVED,
    )
    fake_microsoft.fail("graph", "POST", "revokeSignInSessions", 429, headers={"Retry-After": "17"})

    delay = action_execute(action_id=action.pk)

    action.refresh_from_db()
    assert delay == 17.0 and action.status == Action.Status.APPROVED and "429" in action.error
    assert action_execute(action_id=action.pk) is None
    action.refresh_from_db()
    assert (action.status, action.attempts, megan["revoked"]) == (Action.Status.SUCCEEDED, 2, 1)


def test_a_missing_permission_fails_the_action_with_the_permission_named(fake_microsoft, settings):
    settings.REMEDIATION_CONNECTOR = ""
    fake_microsoft.add_user(MEGAN)
    fake_microsoft.roles["graph"] -= {"User.RevokeSessions.All"}
    identity = IdentityFactory(upn=MEGAN)
    action = ActionFactory(
        investigation__identity=identity, identity=identity, kind=Action.Kind.REVOKE_SESSIONS, status="approved"
    )

    assert action_execute(action_id=action.pk) is None

    action.refresh_from_db()
    assert action.status == Action.Status.FAILED
    assert "User.RevokeSessions.All (Microsoft Graph)" in action.error

"""The investigation page's "Current state" tab: the snapshot's items, where each came from, its action."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.investigations.support import T0, forwarding_event, identity, investigate
from tests.investigations.test_live_state import hidden_rule, risky_signin

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "investigation-tab"}


def state_tab(client, investigation, **headers) -> str:
    url = reverse("investigations:investigation_detail", args=[investigation.id])
    response = client.get(url, {"tab": "state"}, **headers)
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(row.split()) for row in body.split("<tr>")[1:]]


def test_the_tab_lists_live_and_logged_items_with_origin_creation_verdict_and_action(
    analyst_client, django_capture_on_commit_callbacks
):
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    forwarding_event(nestor, T0 + timedelta(minutes=10), ["nestor.backup@gmail.com"])
    hidden_rule(nestor, "<b>Sync</b>")
    investigation = investigate(nestor, django_capture_on_commit_callbacks)

    html = state_tab(analyst_client, investigation, **HX)

    assert html.lstrip().startswith('<div id="investigation-tab"') and "<html" not in html
    assert 'id="tab-state" ' in html and "Read from the <strong>simulated</strong> tenant at" in html
    assert "Not read: Folder permission (The simulated tenant keeps no folder permissions)" in html
    listed = rows(html)
    rule = next(row for row in listed if "Inbox rule" in row)
    assert "&lt;b&gt;Sync&lt;/b&gt;" in rule and "<b>Sync" not in rule  # attacker text stays text
    assert "hidden" in rule and "Live read only" in rule and "2026-01-30 22:00" in rule
    assert "Malicious" in rule and "Remove inbox rule" in rule and "Pending approval" in rule
    forwarding = next(row for row in listed if "Mailbox forwarding" in row)
    assert "nestor.backup@gmail.com" in forwarding and "Logs and live read" in forwarding
    assert "2026-03-11 22:10" in forwarding and "Disable mailbox forwarding" in forwarding


def test_the_tab_says_plainly_when_live_state_was_not_read(
    settings, analyst_client, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTORS = {
        **settings.REMEDIATION_CONNECTORS,
        "offline": "investigations.connectors.base.Connector",
    }
    settings.REMEDIATION_CONNECTOR = "offline"
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    investigation = investigate(nestor, django_capture_on_commit_callbacks)

    html = state_tab(analyst_client, investigation)

    assert "current state was not read (from base at" in html  # the connector's own name
    assert "the base connector cannot read it" in html and "<tbody>" not in html.split('id="tab-panel"')[1]


def test_the_rows_cost_two_queries_whatever_the_items(django_capture_on_commit_callbacks, django_assert_num_queries):
    from investigations.selectors.live_state import investigation_current_state

    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    for n in range(5):
        hidden_rule(nestor, f"Sync {n}")
    investigation = investigate(nestor, django_capture_on_commit_callbacks)
    with django_assert_num_queries(2):  # the noted items (one finding), the actions
        current = investigation_current_state(investigation=investigation)
    assert [row.name for row in current.rows if row.kind == "inbox_rule"] == [f"Sync {n}" for n in range(5)]
    assert all(row.action is not None and row.action.kind == "remove_inbox_rule" for row in current.rows[:5])

"""Investigation pages and the action center: htmx decisions, live rows, four-eyes, history, CSV, roles."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from airportal.models import AuditEntry
from alerts.models import Event
from investigations.models import Action, Finding, Investigation, InvestigationStep
from investigations.services.actions import action_approve
from tests.factories import ActionFactory, AlertFactory, EventFactory, IdentityFactory, InvestigationFactory

pytestmark = pytest.mark.django_db
A = Action.Status
HX = {"HTTP_HX_REQUEST": "true"}


def triggers(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


@pytest.fixture
def investigation():
    identity = IdentityFactory(upn="megan.bowen@contoso.com")
    investigation = InvestigationFactory(
        identity=identity,
        status=Investigation.Status.PENDING_ACTION,
        verdict="compromised",
        risk_score=95,
        summary="megan.bowen@contoso.com appears compromised: forwarding to <b>gmail</b>.",
        window_start=timezone.now() - timedelta(days=2),
        window_end=timezone.now(),
    )
    investigation.alerts.add(AlertFactory(identity=identity, title="Mail forwarded outside"))
    finding = Finding.objects.create(
        investigation=investigation, check_key="forwarding", title="Mailbox forwarding", verdict="malicious"
    )
    finding.events.add(
        EventFactory(identity=identity, kind=Event.Kind.MAILBOX_FORWARDING_SET, target="x@gmail.com", ip=None)
    )
    InvestigationStep.objects.create(investigation=investigation, message='=HYPERLINK("http://evil") step')
    return investigation


@pytest.fixture
def revoke(investigation):
    return ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)


@pytest.fixture
def reset_password(investigation):
    return ActionFactory(
        investigation=investigation, kind=Action.Kind.RESET_PASSWORD, impact="high", requires_second_approval=True
    )


def detail(client, investigation, tab=None, **headers):
    url = reverse("investigations:investigation_detail", args=[investigation.id])
    return client.get(url, {"tab": tab} if tab else {}, **headers)


# --- investigation pages --------------------------------------------------------------------------


def test_investigation_page_shows_verdict_risk_explanation_and_escapes_it(analyst_client, investigation, revoke):
    html = detail(analyst_client, investigation).content.decode()
    assert "Compromised" in html and ">95<" in html
    assert "forwarding to &lt;b&gt;gmail&lt;/b&gt;" in html
    assert 'aria-selected="true">Actions' in html  # pending actions: the Actions tab opens first


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("alerts", "Mail forwarded outside"),
        ("findings", "Mailbox forwarding"),
        ("timeline", "x@gmail.com"),
        ("actions", "Revoke sessions"),
        ("log", "HYPERLINK"),
    ],
)
def test_each_tab_renders_alone_for_htmx(analyst_client, investigation, revoke, tab, expected):
    response = detail(analyst_client, investigation, tab, **HX, HTTP_HX_TARGET="investigation-tab")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="investigation-tab"') and "<html" not in html
    assert expected in html
    assert f'id="tab-{tab}" ' in html and 'aria-selected="true"' in html


def test_findings_tab_marks_events_and_timeline_tab_marks_evidence(analyst_client, investigation):
    html = detail(analyst_client, investigation, "timeline").content.decode()
    assert "ev-evidence" in html  # the forwarding event rests under a finding


def test_progress_polls_while_running_and_stops_with_286(analyst_client, investigation):
    url = reverse("investigations:investigation_progress", args=[investigation.id])
    Investigation.objects.filter(pk=investigation.pk).update(status=Investigation.Status.RUNNING)
    running = analyst_client.get(url, **HX)
    assert running.status_code == 200 and 'hx-trigger="every 2s"' in running.content.decode()
    Investigation.objects.filter(pk=investigation.pk).update(status=Investigation.Status.REMEDIATED)
    done = analyst_client.get(url, **HX)
    assert done.status_code == 286
    assert "every 2s" not in done.content.decode()
    assert triggers(done)["investigationUpdated"]["status"] == "remediated"


def test_investigation_page_query_count_does_not_grow_with_actions(
    analyst_client, investigation, django_assert_num_queries
):
    ActionFactory(investigation=investigation)
    detail(analyst_client, investigation, "actions")
    with CaptureQueriesContext(connection) as few:
        detail(analyst_client, investigation, "actions")
    for kind in list(Action.Kind)[1:]:
        ActionFactory(investigation=investigation, kind=kind, target=f"t-{kind}")
    with django_assert_num_queries(len(few.captured_queries)):
        detail(analyst_client, investigation, "actions")


def test_investigation_list_query_count_does_not_grow(analyst_client, investigation, django_assert_num_queries):
    url = reverse("investigations:investigation_list")
    analyst_client.get(url)
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(url)
    for _ in range(15):
        ActionFactory(investigation=InvestigationFactory())
    with django_assert_num_queries(len(few.captured_queries)):
        html = analyst_client.get(url).content.decode()
    assert len(re.findall(r">#(\d+)</a>", html)) == 16


def test_investigation_list_filters(analyst_client, investigation):
    other = InvestigationFactory(status=Investigation.Status.NO_THREATS_FOUND, verdict="clean")
    url = reverse("investigations:investigation_list")
    html = analyst_client.get(url, {"status": "open"}).content.decode()
    assert f">#{investigation.id}<" in html and f">#{other.id}<" not in html
    html = analyst_client.get(url, {"verdict": "clean"}).content.decode()
    assert f">#{other.id}<" in html and f">#{investigation.id}<" not in html


def test_log_exports_as_csv_with_formulas_neutralised(analyst_client, investigation):
    response = analyst_client.get(reverse("investigations:investigation_log_csv", args=[investigation.id]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "level", "message"]
    assert rows[1][2].startswith("'=HYPERLINK")


def test_start_investigation_by_hand_goes_to_it(analyst_client, analyst):
    identity = IdentityFactory(upn="lee.gu@contoso.com")
    url = reverse("investigations:investigation_start")
    response = analyst_client.post(url, {"user": "Lee.Gu@contoso.com", "reason": "Reported by the user"}, **HX)
    investigation = Investigation.objects.get(identity=identity)
    assert response.headers["HX-Redirect"] == reverse("investigations:investigation_detail", args=[investigation.id])
    assert investigation.started_by == analyst
    refused = analyst_client.post(url, {"user": "nobody@contoso.com", "reason": "x"}, **HX)
    assert refused.status_code == 400 and "not a monitored identity" in refused.json()["detail"]


def test_terminate_withdraws_pending_actions(analyst_client, investigation, revoke):
    url = reverse("investigations:investigation_terminate", args=[investigation.id])
    assert analyst_client.post(url, {"reason": ""}, **HX).status_code == 400
    response = analyst_client.post(url, {"reason": "False alarm: the user was travelling"}, **HX)
    assert response.status_code == 200
    assert "investigationUpdated" in triggers(response)
    assert Investigation.objects.get(pk=investigation.pk).status == Investigation.Status.TERMINATED
    assert Action.objects.get(pk=revoke.pk).status == A.REJECTED


# --- decisions on actions -------------------------------------------------------------------------


def test_approving_runs_the_action_and_answers_its_row(
    analyst_client, analyst, revoke, django_capture_on_commit_callbacks
):
    url = reverse("investigations:action_approve", args=[revoke.id])
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(url, {"layout": "investigation"}, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="action-{revoke.id}"')
    assert triggers(response)["actionApproved"]["id"] == revoke.id
    revoke.refresh_from_db()
    assert revoke.status == A.SUCCEEDED and revoke.approved_by == analyst
    # The row a browser polls now says it is done, and stops the polling.
    row = analyst_client.get(reverse("investigations:action_row", args=[revoke.id]), {"layout": "pending"}, **HX)
    assert row.status_code == 286 and "Succeeded" in row.content.decode()
    assert triggers(row)["actionFinished"]["status"] == "succeeded"


def test_a_running_action_row_keeps_polling(analyst_client, revoke):
    Action.objects.filter(pk=revoke.pk).update(status=A.RUNNING)
    row = analyst_client.get(reverse("investigations:action_row", args=[revoke.id]), **HX)
    assert row.status_code == 200 and 'hx-trigger="every 2s"' in row.content.decode()


def test_rejecting_needs_a_comment_and_records_it(analyst_client, analyst, revoke):
    url = reverse("investigations:action_reject", args=[revoke.id])
    refused = analyst_client.post(url, {"comment": "  "}, **HX)
    assert refused.status_code == 400 and refused.json()["detail"] == "Say why you reject this action."
    response = analyst_client.post(url, {"comment": "Known <b>VPN</b>", "layout": "pending"}, **HX)
    assert "actionRejected" in triggers(response)
    assert "Known &lt;b&gt;VPN&lt;/b&gt;" in response.content.decode()
    revoke.refresh_from_db()
    assert revoke.status == A.REJECTED and revoke.rejected_by == analyst


def test_a_second_decision_is_a_clear_conflict(analyst_client, revoke, analyst2):
    action_approve(action_id=revoke.id, user=analyst2)
    response = analyst_client.post(reverse("investigations:action_approve", args=[revoke.id]), **HX)
    assert response.status_code == 409 and "cannot be approved" in response.json()["detail"]


def test_four_eyes_needs_a_second_different_person(client, analyst, analyst2, reset_password):
    url = reverse("investigations:action_approve", args=[reset_password.id])
    client.force_login(analyst)
    first = client.post(url, {"layout": "investigation"}, **HX)
    assert "1 of 2 approvals" in first.content.decode() and "waiting for a second approver" in first.content.decode()
    again = client.post(url, **HX)
    assert again.status_code == 403 and "different person" in again.json()["detail"]
    client.force_login(analyst2)
    page = client.get(reverse("investigations:action_center")).content.decode()
    assert "Give second approval: Reset password" in page
    second = client.post(url, {"layout": "pending"}, **HX)
    assert second.status_code == 200
    reset_password.refresh_from_db()
    assert reset_password.second_approved_by == analyst2 and reset_password.status != A.PENDING_APPROVAL


def test_undo_adds_the_undo_row_after_the_original(
    analyst_client, analyst2, investigation, django_capture_on_commit_callbacks
):
    action = ActionFactory(
        investigation=investigation, kind=Action.Kind.DISABLE_MAILBOX_FORWARDING, target="x@gmail.com"
    )
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action_id=action.id, user=analyst2)
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED, action.error
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(reverse("investigations:action_undo", args=[action.id]), **HX)
    rows = re.findall(r'<tr id="action-(\d+)"', response.content.decode())
    undo = Action.objects.get(undo_of=action)
    assert rows == [str(action.id), str(undo.id)]
    assert "actionUndone" in triggers(response)


def test_decisions_need_post_and_triage(client, personas, revoke):
    client.force_login(personas["analyst"])
    assert client.get(reverse("investigations:action_approve", args=[revoke.id])).status_code == 405
    client.force_login(personas["ingest"])
    assert client.post(reverse("investigations:action_approve", args=[revoke.id])).status_code == 403
    assert Action.objects.get(pk=revoke.pk).status == A.PENDING_APPROVAL


# --- action center --------------------------------------------------------------------------------


def test_pending_is_oldest_first_with_age_against_the_sla(analyst_client, investigation):
    old = ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)
    new = ActionFactory(investigation=investigation, kind=Action.Kind.REMOVE_INBOX_RULE, target="..")
    Action.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    html = analyst_client.get(reverse("investigations:action_center")).content.decode()
    assert html.index(f'id="action-{old.id}"') < html.index(f'id="action-{new.id}"')
    assert "row-overdue" in re.search(rf'<tr id="action-{old.id}" class="([^"]*)"', html).group(1)
    assert "row-overdue" not in re.search(rf'<tr id="action-{new.id}" class="([^"]*)"', html).group(1)
    assert 'class="overdue"' in html


def test_bulk_approval_takes_one_kind(analyst_client, investigation, django_capture_on_commit_callbacks):
    other = InvestigationFactory(status=Investigation.Status.PENDING_ACTION)
    a = ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)
    b = ActionFactory(investigation=other, kind=Action.Kind.REVOKE_SESSIONS)
    c = ActionFactory(investigation=other, kind=Action.Kind.REMOVE_INBOX_RULE, target="..")
    url = reverse("investigations:actions_bulk_approve")
    mixed = analyst_client.post(url, {"action": [a.id, c.id]}, **HX)
    assert mixed.status_code == 400 and "one kind at a time" in mixed.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(url, {"action": [a.id, b.id], "comment": "sweep"}, **HX)
    assert sorted(triggers(response)["actionApproved"]["ids"]) == sorted([a.id, b.id])
    assert "2 actions approved." in triggers(response)["toast"]["message"]
    assert set(Action.objects.filter(pk__in=[a.id, b.id]).values_list("status", flat=True)) == {A.SUCCEEDED}
    assert Action.objects.get(pk=c.id).status == A.PENDING_APPROVAL


def test_history_shows_who_decided_with_filters_and_exports(client, manager, analyst, revoke):
    client.force_login(analyst)
    client.post(reverse("investigations:action_reject", args=[revoke.id]), {"comment": "benign"}, **HX)
    approved = ActionFactory(investigation=revoke.investigation, kind=Action.Kind.REMOVE_INBOX_RULE, target="rule")
    Action.objects.filter(pk=approved.pk).update(status=A.FAILED, approved_by=manager, error="403 missing permission")
    url = reverse("investigations:action_center")
    html = client.get(url, {"tab": "history"}).content.decode()
    assert "Rejected by <strong>alice</strong>" in html and "403 missing permission" in html
    html = client.get(url, {"tab": "history", "status": "rejected"}).content.decode()
    assert f'id="action-{revoke.id}"' in html and f'id="action-{approved.id}"' not in html
    html = client.get(url, {"tab": "history", "decided_by": "maria"}).content.decode()
    assert f'id="action-{approved.id}"' in html and f'id="action-{revoke.id}"' not in html
    assert client.get(reverse("investigations:action_history_csv")).status_code == 403  # analysts read only
    client.force_login(manager)
    export = client.get(reverse("investigations:action_history_csv"), {"status": "rejected"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["id"] for row in rows] == [str(revoke.id)]
    assert rows[0]["rejected_by"] == "alice" and rows[0]["comment"] == "benign"


def test_action_center_query_count_does_not_grow(analyst_client, investigation, django_assert_num_queries):
    ActionFactory(investigation=investigation)
    url = reverse("investigations:action_center")
    for tab in ("pending", "history"):
        analyst_client.get(url, {"tab": tab})
    counts = {}
    for tab in ("pending", "history"):
        with CaptureQueriesContext(connection) as few:
            analyst_client.get(url, {"tab": tab})
        counts[tab] = len(few.captured_queries)
    for i in range(12):
        ActionFactory(investigation=InvestigationFactory(), status=A.PENDING_APPROVAL if i % 2 else A.REJECTED)
    for tab in ("pending", "history"):
        with django_assert_num_queries(counts[tab]):
            analyst_client.get(url, {"tab": tab})


def test_decisions_are_audited(analyst_client, revoke, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        analyst_client.post(reverse("investigations:action_approve", args=[revoke.id]), **HX)
    assert AuditEntry.objects.filter(verb="action.approved", object_id=str(revoke.id)).exists()


def test_forged_action_ids_are_refused_not_crashed(analyst_client):
    response = analyst_client.post(
        reverse("investigations:actions_bulk_approve"), {"action": ["99999999999999999999", "x"]}, **HX
    )
    assert response.status_code == 400 and "is not an action" in response.json()["detail"]

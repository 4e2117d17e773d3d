"""The investigations and actions API: shapes from DESIGN.md, roles, errors, pinned query counts."""

import pytest
from django.urls import reverse

from investigations.models import Action, Investigation
from tests.factories import ActionFactory, InvestigationFactory
from tests.investigations.support import bec_attack, identity, investigate

pytestmark = pytest.mark.django_db
A = Action.Status


@pytest.fixture
def megan_case(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    return investigate(megan, django_capture_on_commit_callbacks)


def list_url(**query):
    url = reverse("api_investigation_list")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_list_by_user_has_the_documented_shape(client, analyst, bearer, megan_case):
    InvestigationFactory(identity=identity("someone.else"))
    response = client.get(list_url(user="MEGAN.BOWEN@contoso.com"), **bearer(analyst))

    assert response.status_code == 200
    body = response.json()
    assert {"count", "next", "results"} <= body.keys()
    assert body["count"] == 1
    item = body["results"][0]
    assert {"id", "user", "playbook", "status", "verdict", "alerts", "actions", "started_at", "finished_at"} <= set(
        item
    )
    assert item["user"] == "megan.bowen@contoso.com"
    assert item["playbook"] == "compromised_user" and item["status"] == "pending_action"
    assert item["verdict"] == "compromised" and item["risk_score"] == megan_case.risk_score
    assert item["alerts"] == list(megan_case.alerts.values_list("pk", flat=True))
    assert {"id", "kind", "status", "target"} == set(item["actions"][0])
    assert {a["kind"] for a in item["actions"]} >= {"remove_inbox_rule", "disable_mailbox_forwarding"}
    forwarding = next(f for f in item["findings"] if f["check_key"] == "forwarding")
    assert forwarding["verdict"] == "malicious" and forwarding["events"]


def test_list_costs_the_same_queries_for_one_or_many(client, analyst, megan_case, django_assert_num_queries):
    client.force_login(analyst)
    client.get(list_url())  # warm the session
    with django_assert_num_queries(10):
        one = client.get(list_url())
    for n in range(4):
        case = InvestigationFactory(identity=identity(f"user{n}"))
        ActionFactory(investigation=case)
    with django_assert_num_queries(10):
        many = client.get(list_url())
    assert len(one.json()["results"]) == 1 and len(many.json()["results"]) == 5


def test_list_needs_the_view_capability(client, ingest_user, outsider, bearer):
    assert client.get(list_url(), **bearer(ingest_user)).status_code == 403
    assert client.get(list_url(), **bearer(outsider)).status_code == 403
    assert client.get(list_url()).status_code in (401, 403)


def test_start_by_hand_answers_201_then_200_for_the_open_one(
    client, analyst, bearer, django_capture_on_commit_callbacks
):
    megan = identity()
    headers = bearer(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            list_url(), {"user": megan.upn, "reason": "phoned the helpdesk"}, content_type="application/json", **headers
        )
    assert created.status_code == 201
    body = created.json()
    assert body["user"] == megan.upn and body["reason"] == "phoned the helpdesk"
    assert body["status"] == "queued"  # the playbook runs after the answer
    assert Investigation.objects.get(pk=body["id"]).status == "no_threats_found"  # nothing in her last week
    reopened = client.post(list_url(), {"user": megan.upn}, content_type="application/json", **headers)
    assert reopened.status_code in (200, 201)


def test_start_on_an_unknown_user_is_a_400_with_the_reason(client, analyst, bearer):
    response = client.post(
        list_url(), {"user": "ghost@contoso.com", "reason": "r"}, content_type="application/json", **bearer(analyst)
    )
    assert response.status_code == 400
    assert "ghost@contoso.com is not a monitored identity" in response.json()["detail"]
    assert not Investigation.objects.exists()


def test_start_without_a_user_is_a_400(client, analyst, bearer):
    response = client.post(list_url(), {"reason": "r"}, content_type="application/json", **bearer(analyst))
    assert response.status_code == 400 and "user" in response.json()


def test_start_needs_the_triage_capability(client, ingest_user, bearer):
    megan = identity()
    response = client.post(list_url(), {"user": megan.upn}, content_type="application/json", **bearer(ingest_user))
    assert response.status_code == 403


def test_detail_shows_findings_steps_and_related_identities(client, analyst, bearer, megan_case):
    response = client.get(reverse("api_investigation_detail", args=[megan_case.pk]), **bearer(analyst))
    assert response.status_code == 200
    body = response.json()
    assert body["steps"][0]["message"].startswith("Opened by the alert")
    assert {"user": "colleague0@contoso.com", "reasons": ["received the phishing mail"], "investigation": None} in body[
        "related"
    ]
    assert body["window_start"] and body["window_end"]


def test_detail_of_a_missing_investigation_is_404(client, analyst, bearer):
    assert client.get(reverse("api_investigation_detail", args=[424242]), **bearer(analyst)).status_code == 404


def test_terminate_with_a_reason(client, analyst, bearer, megan_case):
    url = reverse("api_investigation_terminate", args=[megan_case.pk])
    assert client.post(url, {}, content_type="application/json", **bearer(analyst)).status_code == 400
    response = client.post(url, {"reason": "false alarm"}, content_type="application/json", **bearer(analyst))
    assert response.status_code == 200 and response.json()["status"] == "terminated"
    again = client.post(url, {"reason": "again"}, content_type="application/json", **bearer(analyst))
    assert again.status_code == 409


def test_action_detail(client, analyst, bearer, megan_case):
    action = megan_case.actions.get(kind="remove_inbox_rule")
    body = client.get(reverse("api_action_detail", args=[action.pk]), **bearer(analyst)).json()
    assert body["kind"] == "remove_inbox_rule" and body["target"] == ".." and body["status"] == "pending_approval"
    assert body["user"] == "megan.bowen@contoso.com" and body["overdue"] is False and body["age_seconds"] >= 0
    assert "idempotency_key" not in body


def test_approve_runs_the_action(client, analyst, bearer, megan_case, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="remove_inbox_rule")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api_action_approve", args=[action.pk]),
            {"comment": "hides invoices"},
            content_type="application/json",
            **bearer(analyst),
        )
    assert response.status_code == 200
    assert response.json()["approved_by"] == analyst.username
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED and action.decision_comment == "hides invoices"
    twice = client.post(
        reverse("api_action_approve", args=[action.pk]), {}, content_type="application/json", **bearer(analyst)
    )
    assert twice.status_code == 409 and "succeeded" in twice.json()["detail"]


def test_four_eyes_over_the_api(client, analyst, manager, bearer, megan_case, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="disable_account")
    url = reverse("api_action_approve", args=[action.pk])
    first = client.post(url, {"comment": "1"}, content_type="application/json", **bearer(analyst))
    assert first.status_code == 200 and first.json()["status"] == "pending_approval"
    same = client.post(url, {"comment": "2"}, content_type="application/json", **bearer(analyst))
    assert same.status_code == 403 and "different person" in same.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(url, {"comment": "2"}, content_type="application/json", **bearer(manager))
    assert second.status_code == 200 and second.json()["second_approved_by"] == manager.username
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED


def test_reject_needs_a_comment(client, analyst, bearer, megan_case):
    action = megan_case.actions.get(kind="restrict_sending")
    url = reverse("api_action_reject", args=[action.pk])
    missing = client.post(url, {}, content_type="application/json", **bearer(analyst))
    assert missing.status_code == 400 and "comment is required" in missing.json()["detail"]
    done = client.post(url, {"comment": "a newsletter"}, content_type="application/json", **bearer(analyst))
    assert done.status_code == 200 and done.json()["status"] == "rejected"


def test_undo_answers_the_new_undo_action(client, analyst, bearer, megan_case, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="disable_mailbox_forwarding")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("api_action_approve", args=[action.pk]), {}, content_type="application/json", **bearer(analyst)
        )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api_action_undo", args=[action.pk]),
            {"comment": "the user's own"},
            content_type="application/json",
            **bearer(analyst),
        )
    assert response.status_code == 201
    body = response.json()
    assert body["undo_of"] == action.pk and body["id"] != action.pk
    action.refresh_from_db()
    assert action.status == A.UNDONE


def test_deciding_needs_the_triage_capability(client, ingest_user, bearer, megan_case):
    action = megan_case.actions.first()
    for name in ("api_action_approve", "api_action_reject", "api_action_undo"):
        response = client.post(
            reverse(name, args=[action.pk]), {"comment": "x"}, content_type="application/json", **bearer(ingest_user)
        )
        assert response.status_code == 403
    action.refresh_from_db()
    assert action.status == A.PENDING_APPROVAL


def test_the_schema_documents_the_endpoints(admin_client):
    schema = admin_client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/investigations/",
        "/api/v1/actions/{action_id}/approve/",
        "/api/v1/investigations/{investigation_id}/terminate/",
    ):
        assert path in schema

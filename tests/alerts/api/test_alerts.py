"""``/api/v1/alerts/``: filters, keyset pages, detail, triage endpoints, roles and query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from airportal.models import AuditEntry
from alerts.models import Alert
from tests.factories import AlertFactory, EventFactory, IdentityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def _as(api, user):
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    ("persona", "status"), [("analyst", 200), ("manager", 200), ("admin", 200), ("ingest", 403), ("outsider", 403)]
)
def test_reading_alerts_needs_the_view_capability(api, personas, persona, status):
    alert = AlertFactory()
    _as(api, personas[persona])
    assert api.get("/api/v1/alerts/").status_code == status
    assert api.get(f"/api/v1/alerts/{alert.pk}/").status_code == status


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/alerts/").status_code == 401


def test_bearer_token_reads_the_list(client, analyst, bearer):
    AlertFactory()
    response = client.get("/api/v1/alerts/", **bearer(analyst))
    assert response.status_code == 200 and response.json()["count"] == 1


def test_list_filters_by_user_status_and_severity(api, analyst):
    megan = IdentityFactory(upn="megan.bowen@contoso.com")
    wanted = AlertFactory(identity=megan, severity="high")
    AlertFactory(identity=megan, severity="low")
    AlertFactory(identity=megan, severity="high", status="resolved", classification="true_positive")
    AlertFactory(severity="high")
    response = _as(api, analyst).get(
        "/api/v1/alerts/", {"user": "Megan.Bowen@Contoso.com", "status": "new,in_progress", "severity": "high"}
    )
    body = response.json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [wanted.pk]
    assert body["results"][0]["user"] == "megan.bowen@contoso.com"
    assert set(body) >= {"count", "next", "results"}


def test_unknown_filter_values_are_a_clear_400(api, analyst):
    response = _as(api, analyst).get("/api/v1/alerts/", {"status": "open"})
    assert response.status_code == 400
    assert "Unknown status open" in response.json()["status"]


def test_keyset_pages_walk_every_alert_once(api, analyst):
    ids = [AlertFactory().pk for _ in range(7)]
    seen, url = [], "/api/v1/alerts/?page_size=3"
    _as(api, analyst)
    while url:
        body = api.get(url).json()
        assert body["count"] == 7
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(ids, reverse=True)


def test_list_query_count_does_not_grow_with_the_page(api, analyst, django_assert_num_queries):
    for _ in range(3):
        AlertFactory(assignee=analyst)
    _as(api, analyst)
    api.get("/api/v1/alerts/")  # warm the permission cache of the user
    # count + page (alerts joined with identity and assignee)
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/alerts/").json()["results"]) == 3
    for _ in range(20):
        AlertFactory(assignee=analyst)
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/alerts/").json()["results"]) == 23


def test_detail_explains_the_alert_with_its_events(api, analyst, django_assert_num_queries):
    alert = AlertFactory(description="Signed in from Lagos.", evidence={"new_country": [{"country": "NG"}]})
    events = [
        EventFactory(identity=alert.identity, occurred_at=timezone.now() - timedelta(minutes=n)) for n in range(3)
    ]
    alert.events.set(events)
    _as(api, analyst)
    api.get(f"/api/v1/alerts/{alert.pk}/")
    with django_assert_num_queries(2):  # the alert with its joins, then its first 100 events
        body = api.get(f"/api/v1/alerts/{alert.pk}/").json()
    assert body["description"] == "Signed in from Lagos."
    assert body["evidence"] == {"new_country": [{"country": "NG"}]}
    assert [event["id"] for event in body["events"]] == [e.pk for e in reversed(events)]


def test_missing_alert_is_404(api, analyst):
    assert _as(api, analyst).get("/api/v1/alerts/999999/").status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("analyst", 200), ("manager", 200), ("admin", 200), ("ingest", 403)])
def test_triage_needs_the_triage_capability(api, personas, persona, status):
    alert = AlertFactory()
    response = _as(api, personas[persona]).post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"classification": "true_positive"}, format="json"
    )
    assert response.status_code == status


def test_resolve_then_resolve_again_is_409(api, analyst):
    alert = AlertFactory()
    _as(api, analyst)
    url = f"/api/v1/alerts/{alert.pk}/resolve/"
    first = api.post(url, {"classification": "true_positive", "comment": "Confirmed with the user"}, format="json")
    assert first.status_code == 200 and first.json()["status"] == "resolved"
    again = api.post(url, {"classification": "true_positive"}, format="json")
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    assert AuditEntry.objects.filter(verb="alert.resolved").count() == 1


def test_resolve_without_classification_is_400_and_changes_nothing(api, analyst):
    alert = AlertFactory()
    response = _as(api, analyst).post(f"/api/v1/alerts/{alert.pk}/resolve/", {}, format="json")
    assert response.status_code == 400 and "classification" in response.json()
    assert Alert.objects.get(pk=alert.pk).status == "new"


def test_dismiss_reopen_start_and_assign(api, analyst, analyst2):
    alert = AlertFactory()
    _as(api, analyst)
    base = f"/api/v1/alerts/{alert.pk}"
    assert api.post(f"{base}/dismiss/", {"classification": "false_positive"}, format="json").json()["status"] == (
        "dismissed"
    )
    assert api.post(f"{base}/reopen/", {"comment": "it came back"}, format="json").json()["status"] == "in_progress"
    assigned = api.post(f"{base}/assign/", {"assignee": analyst2.username}, format="json").json()
    assert assigned["assignee"] == analyst2.username
    assert api.post(f"{base}/assign/", {"assignee": "nobody-here"}, format="json").status_code == 400
    assert api.post(f"{base}/assign/", {"assignee": None}, format="json").json()["assignee"] is None
    assert api.post(f"{base}/start/", {}, format="json").status_code == 409  # already in progress


def test_bulk_triage_answers_what_changed_and_what_was_skipped(api, analyst):
    a, b = AlertFactory(), AlertFactory(status="resolved", classification="true_positive")
    response = _as(api, analyst).post(
        "/api/v1/alerts/bulk/",
        {"ids": [a.pk, b.pk], "action": "dismiss", "classification": "benign_positive"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["changed"] == [a.pk]
    assert list(response.json()["skipped"]) == [str(b.pk)]


def test_schema_documents_the_alert_endpoints(client, analyst):
    client.force_login(analyst)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/v1/alerts/", "/api/v1/alerts/{alert_id}/", "/api/v1/alerts/{alert_id}/resolve/"} <= set(
        schema["paths"]
    )


def test_each_alert_names_the_investigation_it_joined(api, analyst, django_capture_on_commit_callbacks):
    from investigations.services.investigations import investigation_attach_alert

    joined = AlertFactory(identity=IdentityFactory(upn="megan@contoso.com"))
    alone = AlertFactory(identity=IdentityFactory(upn="lee@contoso.com"))
    with django_capture_on_commit_callbacks(execute=True):
        investigation = investigation_attach_alert(alert_id=joined.pk)
    api.force_authenticate(analyst)
    listed = {row["id"]: row["investigation"] for row in api.get("/api/v1/alerts/").json()["results"]}
    assert listed == {joined.pk: investigation.pk, alone.pk: None}
    assert api.get(f"/api/v1/alerts/{joined.pk}/").json()["investigation"] == investigation.pk


def test_an_alert_about_no_user_has_a_null_user_and_names_its_device(api, analyst):
    device_alert = AlertFactory(
        identity=None, detector="external_alert", evidence={"devices": ["laptop-17.contoso.com"], "apps": ["Mail Sync"]}
    )
    event = EventFactory(identity=None, kind="external_alert", occurred_at=timezone.now())
    device_alert.events.set([event])
    user_alert = AlertFactory()
    _as(api, analyst)
    rows = {row["id"]: row for row in api.get("/api/v1/alerts/").json()["results"]}
    assert (rows[device_alert.pk]["user"], rows[device_alert.pk]["subjects"]) == (
        None,
        ["laptop-17.contoso.com", "Mail Sync"],
    )
    assert (rows[user_alert.pk]["user"], rows[user_alert.pk]["subjects"]) == (user_alert.identity.upn, [])
    detail = api.get(f"/api/v1/alerts/{device_alert.pk}/").json()
    assert (detail["user"], [e["id"] for e in detail["events"]]) == (None, [event.pk])
    assert api.get("/api/v1/alerts/", {"user": user_alert.identity.upn}).json()["count"] == 1
    resolved = api.post(
        f"/api/v1/alerts/{device_alert.pk}/resolve/", {"classification": "true_positive"}, format="json"
    )
    assert resolved.status_code == 200, resolved.content

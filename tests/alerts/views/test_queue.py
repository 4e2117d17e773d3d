"""The alert queue: filters, sort, keyset pages, bulk triage, the live counter, roles, escaping."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from airportal.models import AuditEntry
from alerts.models import Alert
from tests.factories import AlertFactory, EventFactory, IdentityFactory, InvestigationFactory

pytestmark = pytest.mark.django_db
QUEUE = reverse("alerts:alert_list")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue-results"}


def alert_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="alert-(\d+)"', response.content.decode())]


@pytest.fixture
def mixed():
    """Six alerts of different severities, statuses, detectors and users, oldest first."""
    megan = IdentityFactory(upn="megan.bowen@contoso.com")
    lee = IdentityFactory(upn="lee.gu@contoso.com")
    now = timezone.now()
    rows = [
        ("high", "new", "external_forwarding", megan, "Mail forwarded to gmail"),
        ("medium", "new", "suspicious_signin", megan, "Impossible travel"),
        ("low", "in_progress", "suspicious_signin", lee, "New country"),
        ("high", "resolved", "suspicious_inbox_rule", lee, "Inbox rule hides invoices"),
        ("informational", "dismissed", "external_alert", lee, "URL click"),
        ("high", "new", "oauth_app_consent", lee, "Consent to a mail app"),
    ]
    alerts = []
    for age, (severity, status, detector, identity, title) in zip(range(len(rows), 0, -1), rows, strict=True):
        alert = AlertFactory(severity=severity, status=status, detector=detector, identity=identity, title=title)
        Alert.objects.filter(pk=alert.pk).update(created_at=now - timedelta(hours=age))
        alerts.append(alert)
    return alerts


def test_queue_shows_open_alerts_newest_first_by_default(analyst_client, mixed):
    response = analyst_client.get(QUEUE)
    assert response.status_code == 200
    assert alert_ids(response) == [mixed[5].id, mixed[2].id, mixed[1].id, mixed[0].id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": "high"}, [5, 0]),
        ({"severity": ["high", "medium"], "status": "all"}, [5, 3, 1, 0]),
        ({"status": "resolved"}, [3]),
        ({"status": "all", "detector": "suspicious_signin"}, [2, 1]),
        ({"status": "all", "user": "MEGAN.BOWEN@contoso.com"}, [1, 0]),
        ({"status": "all", "text": "invoices"}, [3]),
        ({"status": "all", "text": "lee.gu"}, [5, 4, 3, 2]),
        ({"status": "all", "sort": "oldest"}, [0, 1, 2, 3, 4, 5]),
        ({"status": "all", "sort": "severity"}, [5, 3, 0, 1, 2, 4]),
    ],
)
def test_queue_filters_and_sorts(analyst_client, mixed, query, expected):
    response = analyst_client.get(QUEUE, query)
    assert alert_ids(response) == [mixed[i].id for i in expected]


def test_queue_time_range_keeps_recent_alerts(analyst_client, mixed):
    Alert.objects.filter(pk=mixed[0].pk).update(created_at=timezone.now() - timedelta(days=3))
    response = analyst_client.get(QUEUE, {"period": "24h"})
    assert mixed[0].id not in alert_ids(response)
    assert mixed[1].id in alert_ids(response)


@pytest.mark.parametrize("sort", ["newest", "oldest", "severity", "activity"])
def test_keyset_pages_cover_every_alert_once_without_offset(analyst_client, sort, monkeypatch):
    identity = IdentityFactory()
    created = timezone.now()
    for i in range(7):
        alert = AlertFactory(identity=identity, severity=["high", "medium", "low"][i % 3])
        # Ties on the sort key: pages must still neither skip nor repeat a row.
        Alert.objects.filter(pk=alert.pk).update(created_at=created - timedelta(minutes=i // 2))
    monkeypatch.setattr("alerts.views.queue.PAGE_SIZE", 3)
    seen, url, pages = [], QUEUE + f"?sort={sort}", 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = analyst_client.get(url)
        assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
        seen += alert_ids(response)
        pages += 1
        match = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = QUEUE + match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3
    assert sorted(seen) == sorted(Alert.objects.values_list("id", flat=True))
    assert len(seen) == len(set(seen))


def test_a_forged_cursor_falls_back_to_the_first_page(analyst_client, mixed):
    response = analyst_client.get(QUEUE, {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert alert_ids(response)[0] == mixed[5].id


def test_queue_query_count_does_not_grow_with_the_page(analyst_client, django_assert_num_queries):
    analyst_client.get(QUEUE)  # warm the session and permission caches
    AlertFactory.create_batch(2)
    with CaptureQueriesContext(connection) as small:
        analyst_client.get(QUEUE)
    AlertFactory.create_batch(30, identity=IdentityFactory())
    with django_assert_num_queries(len(small.captured_queries)):
        response = analyst_client.get(QUEUE)
    assert len(alert_ids(response)) == 32


def test_htmx_filter_request_gets_only_the_results_partial(analyst_client, mixed):
    response = analyst_client.get(QUEUE, {"severity": "high"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-results"')
    assert "<html" not in html
    assert 'hx-swap-oob="true"' in html  # the live counter follows the filters
    assert response.headers["Vary"].count("HX-Request") == 1


def test_rows_link_to_the_alert_the_user_and_the_investigation(analyst_client):
    alert = AlertFactory(identity=IdentityFactory(upn="megan.bowen@contoso.com"))
    investigation = InvestigationFactory(identity=alert.identity)
    investigation.alerts.add(alert)
    html = analyst_client.get(QUEUE).content.decode()
    assert reverse("alerts:alert_detail", args=[alert.id]) in html
    assert reverse("identity_timeline", args=["megan.bowen@contoso.com"]) in html
    assert reverse("investigations:investigation_detail", args=[investigation.id]) in html


def test_attacker_strings_are_escaped(analyst_client):
    identity = IdentityFactory(display_name='<img src=x onerror="alert(1)">')
    AlertFactory(identity=identity, title="Rule <script>alert(1)</script>")
    html = analyst_client.get(QUEUE).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "Rule &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_overdue_alerts_are_flagged_against_the_sla(analyst_client):
    alert = AlertFactory()
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(hours=5))
    html = analyst_client.get(QUEUE).content.decode()
    assert 'class="overdue"' in html and "5h 00m / 4h 00m" in html


def test_new_counter_counts_alerts_arrived_since_the_page_loaded(analyst_client):
    first = AlertFactory()
    AlertFactory(status=Alert.Status.RESOLVED)
    response = analyst_client.get(reverse("alerts:alert_new_count"), {"after": first.id})
    assert "1 new" in response.content.decode()
    assert "arrived since loading" not in response.content.decode()
    AlertFactory()
    response = analyst_client.get(reverse("alerts:alert_new_count"), {"after": first.id})
    assert "2 new" in response.content.decode()
    assert "Show 1 arrived since loading" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), [("ingest", 403), ("outsider", 403), ("manager", 200)])
def test_queue_by_role(client, personas, persona, status):
    client.force_login(personas[persona])
    assert client.get(QUEUE).status_code == status


# --- triage ---------------------------------------------------------------------------------------

TRIAGE = reverse("alerts:alert_triage")


def test_bulk_assign_to_me_starts_the_alerts(analyst_client, analyst, mixed):
    response = analyst_client.post(
        TRIAGE, {"alert": [mixed[0].id, mixed[1].id], "operation": "assign"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert '"alertsTriaged"' in response.headers["HX-Trigger"]
    assert "2 alerts assigned to alice" in response.headers["HX-Trigger"]
    for alert in Alert.objects.filter(pk__in=[mixed[0].id, mixed[1].id]):
        assert alert.assignee == analyst and alert.status == Alert.Status.IN_PROGRESS


def test_bulk_resolve_needs_a_classification_and_reports_what_did_not_move(analyst_client, mixed):
    response = analyst_client.post(TRIAGE, {"alert": [mixed[0].id], "operation": "resolve"}, HTTP_HX_REQUEST="true")
    assert '"level": "error"' in response.headers["HX-Trigger"]
    assert "needs a classification" in response.headers["HX-Trigger"]
    assert Alert.objects.get(pk=mixed[0].id).status == Alert.Status.NEW

    response = analyst_client.post(
        TRIAGE,
        {"alert": [mixed[0].id, mixed[3].id], "operation": "resolve", "classification": "true_positive"},
        HTTP_HX_REQUEST="true",
    )
    trigger = response.headers["HX-Trigger"]
    assert "1 alert resolved" in trigger and "1 unchanged" in trigger
    assert Alert.objects.get(pk=mixed[0].id).classification == "true_positive"
    assert AuditEntry.objects.filter(verb="alert.resolved", object_id=str(mixed[0].id)).exists()


def test_triage_without_selection_is_a_clear_error(analyst_client):
    response = analyst_client.post(TRIAGE, {"operation": "dismiss"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response.json() == {"detail": "Select at least one alert."}


def test_triage_without_htmx_redirects_back_with_a_message(analyst_client, mixed):
    response = analyst_client.post(
        TRIAGE,
        {"alert": [mixed[1].id], "operation": "dismiss", "classification": "false_positive", "next": "/alerts/?x=1"},
    )
    assert response.status_code == 302 and response.url == "/alerts/?x=1"
    response = analyst_client.post(
        TRIAGE, {"alert": [mixed[1].id], "operation": "reopen", "next": "https://evil.example/"}
    )
    assert response.url == QUEUE
    assert Alert.objects.get(pk=mixed[1].id).status == Alert.Status.IN_PROGRESS


def test_triage_needs_post_and_the_triage_capability(client, personas, mixed):
    client.force_login(personas["analyst"])
    assert client.get(TRIAGE).status_code == 405
    client.force_login(personas["ingest"])
    assert client.post(TRIAGE, {"alert": [mixed[0].id], "operation": "assign"}).status_code == 403
    assert Alert.objects.get(pk=mixed[0].id).assignee is None


# --- alert page -----------------------------------------------------------------------------------


def test_alert_page_shows_why_evidence_events_and_triage(analyst_client):
    alert = AlertFactory(
        description="Forwarded to <b>gmail</b>",
        evidence={
            "reasons": {"x": "hidden because the description says it"},
            "recipients": 42,
            "legs": [{"from": {"city": "Seattle"}, "to": {"city": "Lagos"}, "kmh": 24361.5}],
        },
    )
    alert.events.add(EventFactory(identity=alert.identity, subject="Invoice <overdue>"))
    html = analyst_client.get(reverse("alerts:alert_detail", args=[alert.id])).content.decode()
    assert "Forwarded to &lt;b&gt;gmail&lt;/b&gt;" in html
    assert '<th scope="col">from city</th>' in html and "24,361.5" in html
    assert "hidden because" not in html
    assert "Invoice &lt;overdue&gt;" in html
    assert 'value="resolve"' in html


def test_alert_page_of_a_missing_alert_is_404(analyst_client):
    assert analyst_client.get(reverse("alerts:alert_detail", args=[999999])).status_code == 404


def test_alert_page_query_count_does_not_grow_with_its_events(analyst_client, django_assert_num_queries):
    alert = AlertFactory()
    alert.events.add(EventFactory(identity=alert.identity))
    url = reverse("alerts:alert_detail", args=[alert.id])
    analyst_client.get(url)
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(url)
    alert.events.add(*EventFactory.create_batch(25, identity=alert.identity))
    with django_assert_num_queries(len(few.captured_queries)):
        analyst_client.get(url)


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxODQ0Njc0NDA3MzcwOTU1MTYxNl0"},  # an id past 64 bits
        {"sort": "severity", "cursor": "WzksIjIwMjYtMDEtMDFUMDA6MDA6MDArMDA6MDAiLDE4NDQ2NzQ0MDczNzA5NTUxNjE2XQ"},
        {"sort": "severity", "cursor": "WyJ4IiwieSIsInoiXQ"},  # wrong types
        {"since": "99999-01-01", "period": "nope", "severity": "critical"},
    ],
)
def test_forged_query_parameters_never_fail_the_page(analyst_client, mixed, query):
    assert analyst_client.get(QUEUE, query).status_code == 200


def test_forged_ids_are_refused_not_crashed(analyst_client):
    huge = "99999999999999999999"
    assert analyst_client.get(reverse("alerts:alert_new_count"), {"after": huge}).status_code == 200
    response = analyst_client.post(TRIAGE, {"alert": [huge], "operation": "assign"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400


def test_an_alert_about_no_user_shows_its_device_in_the_queue_and_on_its_page(analyst_client, mixed):
    device = AlertFactory(
        identity=None,
        detector="external_alert",
        title="Suspicious PowerShell command line on <b>laptop-17</b>",
        evidence={"devices": ["<b>laptop-17</b>", "srv-02", "srv-03", "srv-04"]},
    )
    event = EventFactory(identity=None, kind="external_alert", subject="Suspicious PowerShell")
    device.events.add(event)
    response = analyst_client.get(QUEUE)
    html = response.content.decode()
    assert alert_ids(response)[0] == device.id
    row = html[html.index(f'id="alert-{device.id}"') :].split("</tr>")[0]
    assert "No user" in row and "&lt;b&gt;laptop-17&lt;/b&gt;, srv-02, srv-03 and 1 more" in row
    assert alert_ids(analyst_client.get(QUEUE, {"text": "laptop-17"})) == [device.id]
    page = analyst_client.get(reverse("alerts:alert_detail", args=[device.id])).content.decode()
    assert "No user" in page and "User timeline" not in page and "<b>laptop-17</b>" not in page
    assert "Suspicious PowerShell" in page and "no user" in page  # its event, without a user link
    assert analyst_client.get(reverse("alerts:event_raw", args=[event.id])).status_code == 200

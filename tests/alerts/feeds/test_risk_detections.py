"""The risk detections feed against the fake Graph: read by detection time, paged, throttled, refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.feeds.cycle import m365_pull_cycle
from alerts.models import Event, M365FeedState
from m365.client import AccessDenied, M365Client
from m365.config import config_get
from m365.models import M365Connection
from tests.m365 import records
from tests.m365.records import LEE, MEGAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def only_risk(fake_microsoft):
    M365Connection.objects.update_or_create(pk=1, defaults={"feeds": ["risk_detections"]})
    return fake_microsoft


def risk_events():
    return Event.objects.filter(kind=Event.Kind.RISK_DETECTION)


def test_an_offline_detection_is_read_by_when_it_was_detected_not_when_the_sign_in_was(only_risk):
    now = timezone.now()
    signed_in = records.signin(now - timedelta(days=9), LEE)
    # The sign-in is older than the backfill; Entra rated it offline two days later.
    only_risk.risk_detections.append(
        records.risk_detection(
            now - timedelta(days=9), LEE, detected=now - timedelta(days=6), request_id=signed_in["id"]
        )
    )
    only_risk.risk_detections.append(
        records.risk_detection(now - timedelta(days=9), MEGAN, detected=now - timedelta(days=8))
    )

    report = m365_pull_cycle()

    assert report.ok, report
    (event,) = risk_events()
    assert event.identity.upn == LEE
    assert event.occurred_at.date() == (now - timedelta(days=9)).date()  # the activity's time
    assert event.attributes["request_id"] == signed_in["id"]
    assert event.attributes["detection_timing"] == "offline"
    filters = [
        query["$filter"] for *_, query in only_risk.calls("graph", "GET", "riskDetections") if "$filter" in query
    ]
    assert filters and all(f.startswith("detectedDateTime ge ") and " and detectedDateTime le " in f for f in filters)


def test_pages_follow_the_next_link_and_a_second_cycle_fetches_nothing_again(only_risk):
    only_risk.page_size = 1
    ago = only_risk.days_ago
    only_risk.risk_detections += [records.risk_detection(ago(0.3), LEE, detected=ago(0.2)) for _ in range(3)]

    m365_pull_cycle()
    again = m365_pull_cycle()

    assert risk_events().count() == 3
    assert any(query.get("$skiptoken") for *_, query in only_risk.calls("graph", "GET", "riskDetections"))
    assert {run.stream: run.fetched for run in again.runs} == {"risk_detections": 0}


def test_throttling_is_waited_out(only_risk):
    ago = only_risk.days_ago
    only_risk.risk_detections += [records.risk_detection(ago(d + 0.1), LEE, detected=ago(d)) for d in (0.5, 2, 4)]
    throttle = only_risk.throttle("risk_detections", every=3, retry_after=1)

    report = m365_pull_cycle()

    assert report.ok, report
    assert risk_events().count() == 3
    assert throttle.refused >= 1 and throttle.early == 0


def test_without_identity_risk_event_read_the_stream_says_what_to_grant(only_risk):
    only_risk.roles["graph"].discard("IdentityRiskEvent.Read.All")
    only_risk.risk_detections.append(records.risk_detection(only_risk.days_ago(1), LEE))

    report = m365_pull_cycle()

    assert not report.ok
    state = M365FeedState.objects.get(stream="risk_detections")
    assert "IdentityRiskEvent.Read.All" in state.last_error
    assert not risk_events().exists()


def test_the_fake_answers_as_graph_documents_it(only_risk):
    client = M365Client(config_get())
    only_risk.page_size = 1000
    ago = only_risk.days_ago
    only_risk.risk_detections += [records.risk_detection(ago(1), LEE, detected=ago(1)) for _ in range(25)]

    page, link = client.graph_page(client.graph_url("identityProtection/riskDetections"), params=None,
                                   permission="IdentityRiskEvent.Read.All")  # fmt: skip
    assert len(page) == 20 and link  # Graph's default page: 20

    with pytest.raises(Exception, match="page size"):
        client.graph("GET", "identityProtection/riskDetections", permission="x", params={"$top": "501"})
    with pytest.raises(Exception, match="lastUpdatedDateTime"):
        client.graph("GET", "identityProtection/riskDetections", permission="x",
                     params={"$filter": "lastUpdatedDateTime ge 2026-01-01T00:00:00Z"})  # fmt: skip
    only_risk.roles["graph"].discard("IdentityRiskEvent.Read.All")
    from m365.client import forget_tokens

    forget_tokens()
    with pytest.raises(AccessDenied):
        M365Client(config_get()).graph("GET", "identityProtection/riskDetections", permission="x")

"""Throttling as Microsoft documents it does not end a pull: every feed waits as told and carries on."""

from io import StringIO

import pytest
from django.core.management import call_command

from alerts.feeds.cycle import m365_pull_cycle
from alerts.models import Event, M365FeedState
from m365.client import M365Client, Throttled
from m365.config import config_get
from m365.throttling import Patience
from tests.m365 import records
from tests.m365.records import LEE

pytestmark = pytest.mark.django_db

FAMILIES = ("audit", "signins", "alerts", "message_traces", "risk_detections")


@pytest.mark.slow  # about 35 one-second waits, as the service asks
def test_a_first_pull_throttled_every_seventh_call_completes_the_seven_day_backfill_and_exits_0(tenant_logs):
    tenant_logs.page_size = 1  # more calls: every listing and collection with two items pages
    tenant_logs.signins += [records.signin(tenant_logs.days_ago(0.1), LEE) for _ in range(2)]
    throttles = {family: tenant_logs.throttle(family, every=7, retry_after=1) for family in FAMILIES}
    out = StringIO()

    call_command("m365", "pull", stdout=out)  # raises CommandError (exit 1) when a stream fails

    output = out.getvalue()
    assert "Fetched 20 record(s) in 8 stream(s)." in output
    assert Event.objects.count() == 20
    for family, throttle in throttles.items():
        assert throttle.refused >= 1, family  # every feed was throttled at least once…
        assert throttle.early == 0, family  # …and came back only after Retry-After
    assert "Throttled" in output and "as the service asked" in output
    for state in M365FeedState.objects.all():
        assert state.last_error == "" and state.checkpoint is not None, state.stream


def test_a_wait_longer_than_the_patience_allows_raises_throttled_without_waiting(fake_microsoft, db):
    fake_microsoft.alerts.append(records.security_alert(fake_microsoft.days_ago(1), LEE))
    throttle = fake_microsoft.throttle("alerts", every=1, retry_after=3600)
    client = M365Client(config_get(), patience=Patience(max_wait=300))

    with pytest.raises(Throttled) as raised:
        client.graph("GET", "security/alerts_v2", permission="SecurityAlert.Read.All")

    assert raised.value.retry_after == 3600 and throttle.refused == 1
    assert client.patience.waits == 0


def test_a_request_refused_too_often_in_a_row_gives_up(fake_microsoft, db):
    throttle = fake_microsoft.throttle("alerts", every=1, retry_after=0)
    client = M365Client(config_get(), patience=Patience(max_refusals=3))

    with pytest.raises(Throttled):
        client.graph("GET", "security/alerts_v2", permission="SecurityAlert.Read.All")

    assert throttle.refused == 4 and client.patience.waits == 3


def test_without_patience_the_first_429_is_raised_for_the_caller_to_schedule_a_retry(fake_microsoft, db):
    throttle = fake_microsoft.throttle("signins", every=1, retry_after=5)

    with pytest.raises(Throttled) as raised:
        M365Client(config_get()).graph("GET", "auditLogs/signIns", permission="AuditLog.Read.All")

    assert raised.value.retry_after == 5 and throttle.refused == 1


def test_a_sign_in_pull_stopped_inside_a_window_resumes_at_the_saved_next_page_not_at_page_one(tenant_logs):
    tenant_logs.page_size = 1
    when = tenant_logs.days_ago(0.01)
    tenant_logs.signins += [records.signin(when, LEE) for _ in range(3)]  # one window, five pages with Megan's
    # The third page of the last window: Retry-After longer than the cycle has left.
    tenant_logs.fail("graph", "GET", "signIns", 429, headers={"Retry-After": "600"}, query={"$skiptoken": "2"})

    first = m365_pull_cycle(budget_seconds=120)

    [signins] = [run for run in first.runs if run.stream == "signins"]
    assert signins.ok and "time budget" in "\n".join(signins.notes)
    state = M365FeedState.objects.get(stream="signins")
    assert state.resume_link.endswith("%24skiptoken=2") and state.resume_until is not None
    calls_before = len(tenant_logs.calls("graph", "GET", "signIns"))

    second = m365_pull_cycle()

    assert second.ok, second
    resumed = tenant_logs.calls("graph", "GET", "signIns")[calls_before:]
    assert resumed[0][3]["$skiptoken"] == "2"  # straight to the page the first run stopped at
    assert not any(query.get("$skiptoken") == "1" for *_, query in resumed)  # no page read twice
    assert Event.objects.filter(source="entra-signins").count() == 5 + 3
    assert M365FeedState.objects.get(stream="signins").resume_link == ""


def test_a_saved_link_graph_no_longer_accepts_is_dropped_and_the_window_read_again(tenant_logs):
    m365_pull_cycle()
    state = M365FeedState.objects.get(stream="signins")
    state.resume_link = f"{tenant_logs.url('graph')}/v1.0/auditLogs/signIns?$skiptoken=not-a-token"
    state.resume_until = state.checkpoint
    state.save()
    tenant_logs.signins.append(records.signin(tenant_logs.days_ago(0.001), LEE))

    report = m365_pull_cycle()

    [signins] = [run for run in report.runs if run.stream == "signins"]
    assert signins.ok and signins.fetched == 1
    assert "saved next-page link was refused" in "\n".join(signins.notes)

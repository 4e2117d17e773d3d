"""Full pull cycles against the fake tenant: backfill, checkpoints, late content, restarts, limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.feeds.cycle import m365_pull_cycle
from alerts.feeds.management_activity import CONTENT_TYPES
from alerts.models import Event, M365FeedState
from m365.client import forget_tokens
from m365.config import connection_get
from m365.models import M365Connection
from m365.times import parse
from tests.m365 import records
from tests.m365.records import LEE, MEGAN

pytestmark = pytest.mark.django_db


def events(source):
    """The events a source's feeds stored; risk detections (also ``entra-signins``) counted apart."""
    return Event.objects.filter(source=source).exclude(kind=Event.Kind.RISK_DETECTION).count()


def listing_requests(fake):
    return [query for _, _, path, query in fake.calls("manage", "GET", "subscriptions/content")]


def test_the_first_pull_starts_the_subscriptions_and_backfills_seven_days_of_every_feed(tenant_logs):
    tenant_logs.page_size = 1  # every listing and collection with two items pages
    tenant_logs.signins += [records.signin(tenant_logs.days_ago(0.1), LEE) for _ in range(2)]  # one window

    report = m365_pull_cycle()

    assert report.ok, report
    assert tenant_logs.subscriptions == set(CONTENT_TYPES)
    assert events("o365-audit") == 4 + 3 + 1  # the 8-day-old blob is out of reach
    assert events("entra-signins") == 5 + 2
    assert events("graph-alerts") == 2
    assert events("message-trace") == 3
    now = timezone.now()
    for query in listing_requests(tenant_logs):
        start, end = parse(query["startTime"]), parse(query["endTime"])
        assert end - start <= timedelta(hours=24)
        assert start >= now - timedelta(days=7)
    assert any("nextPage" in query for query in listing_requests(tenant_logs))  # NextPageUri was followed
    assert any(query.get("$skiptoken") for *_, query in tenant_logs.calls("graph", "GET", "signIns"))  # nextLink
    for state in M365FeedState.objects.all():
        assert now - state.checkpoint < timedelta(minutes=1), state.stream
        assert state.last_error == "" and state.last_success_at is not None


def test_every_blob_is_fetched_once_across_cycles_and_only_new_records_are_handed_on(tenant_logs):
    m365_pull_cycle()
    tenant_logs.add_blob("Audit.Exchange", timezone.now() - timedelta(minutes=1), [records.audit_inbox_rule(
        timezone.now(), MEGAN, "new")])  # fmt: skip
    tenant_logs.signins.append(records.signin(timezone.now() - timedelta(seconds=30), LEE))

    report = m365_pull_cycle()

    fetched = {run.stream: run.fetched for run in report.runs}
    assert fetched == {
        "audit:Audit.Exchange": 1,
        "audit:Audit.AzureActiveDirectory": 0,
        "audit:Audit.SharePoint": 0,
        "audit:Audit.General": 0,
        "signins": 1,
        "alerts": 0,
        "message_trace": 0,
        "risk_detections": 0,
    }
    blob_fetches = [path for _, _, path, _ in tenant_logs.calls("manage", "GET", "/audit/")]
    assert len(blob_fetches) == len(set(blob_fetches)) == 7
    assert events("o365-audit") == 9


def test_a_blob_listed_late_behind_the_checkpoint_is_still_fetched(tenant_logs):
    m365_pull_cycle()
    # Became available 20 minutes ago but only shows up in listings now: behind the checkpoint.
    late = tenant_logs.add_blob(
        "Audit.AzureActiveDirectory",
        timezone.now() - timedelta(minutes=20),
        [records.audit_directory(timezone.now() - timedelta(hours=3), MEGAN, "Add member to role.")],  # fmt: skip
    )

    m365_pull_cycle()

    assert Event.objects.filter(source="o365-audit", operation="Add member to role.").count() == 1
    assert len(tenant_logs.calls("manage", "GET", late.content_id)) == 1


def test_throttling_past_the_time_budget_keeps_progress_and_the_next_cycle_resumes_without_gaps_or_duplicates(
    tenant_logs,
):
    # AF429 without Retry-After (some front ends answer 403): waited out with a short backoff.
    af429 = {"error": {"code": "AF429", "message": "Too many requests. Method=GetBlob, PublisherId=x"}}
    tenant_logs.fail("manage", "GET", "/audit/", 403, body=af429, after=2)  # the third blob fetch
    # A wait longer than the cycle has left: the stream stops there and resumes next cycle.
    tenant_logs.fail("graph", "GET", "signIns", 429, headers={"Retry-After": "300"}, after=100)  # day 3

    first = m365_pull_cycle(budget_seconds=60)

    assert first.ok, first  # neither is an error
    runs = {run.stream: run for run in first.runs}
    assert runs["audit:Audit.Exchange"].throttled == 1 and runs["audit:Audit.Exchange"].fetched == 4
    signin_notes = "\n".join(runs["signins"].notes)
    assert "300" in signin_notes and "time budget" in signin_notes
    assert events("graph-alerts") == 2 and events("o365-audit") == 8  # the other feeds ran
    partial = events("entra-signins")
    assert 0 < partial < 5

    forget_tokens()  # a new worker process: nothing in memory, only the checkpoints
    second = m365_pull_cycle()

    assert second.ok, second
    assert events("o365-audit") == 8 and events("entra-signins") == 5
    assert Event.objects.values("source", "source_record_id").distinct().count() == Event.objects.count()
    blob_fetches = [path for _, _, path, _ in tenant_logs.calls("manage", "GET", "/audit/")]
    assert len(blob_fetches) == 6 + 1  # each blob once, plus the throttled attempt
    assert M365FeedState.objects.get(stream="signins").last_error == ""


def test_expired_content_is_skipped_with_a_note_and_the_rest_is_fetched(tenant_logs):
    expired = tenant_logs.add_blob("Audit.General", tenant_logs.days_ago(2), [records.audit_general(
        tenant_logs.days_ago(2), LEE)], expired=True)  # fmt: skip

    report = m365_pull_cycle()

    [general] = [run for run in report.runs if run.stream == "audit:Audit.General"]
    assert general.ok and general.fetched == 1
    notes = "\n".join(general.notes)
    assert "AF20051" in notes and expired.content_id[:20] in notes
    assert "AF20051" in M365FeedState.objects.get(stream="audit:Audit.General").notes


def test_the_audit_log_is_never_read_more_than_seven_days_back(tenant_logs, settings):
    settings.M365_BACKFILL_DAYS = 30

    report = m365_pull_cycle()

    assert report.ok, report  # the fake refuses (AF20030) a start time more than 7 days back
    assert events("o365-audit") == 8
    assert events("entra-signins") == 6  # Graph keeps 30 days: the 10-day-old sign-in is in reach


def test_a_checkpoint_older_than_the_retention_resumes_at_the_limit_and_says_so(tenant_logs):
    stream = "audit:Audit.Exchange"
    M365FeedState.objects.create(stream=stream, checkpoint=timezone.now() - timedelta(days=12))

    report = m365_pull_cycle()

    [run] = [run for run in report.runs if run.stream == stream]
    assert run.ok and run.fetched == 4
    assert "older than the source keeps data" in "\n".join(run.notes)


def test_only_enabled_feeds_are_pulled(tenant_logs):
    connection_get()
    M365Connection.objects.filter(pk=1).update(feeds=["alerts"])

    report = m365_pull_cycle()

    assert [run.stream for run in report.runs] == ["alerts"]
    assert events("graph-alerts") == 2 and events("o365-audit") == 0
    assert not tenant_logs.calls("manage")


def test_a_cycle_does_not_start_while_another_runs_but_takes_over_a_dead_ones_claim(tenant_logs):
    connection_get()
    M365Connection.objects.filter(pk=1).update(cycle_started_at=timezone.now())
    assert m365_pull_cycle().skipped == "Another pull cycle is running."
    assert events("graph-alerts") == 0

    M365Connection.objects.filter(pk=1).update(cycle_started_at=timezone.now() - timedelta(hours=1))
    assert m365_pull_cycle().ok
    assert M365Connection.objects.get(pk=1).cycle_started_at is None


def test_a_missing_permission_is_named_on_its_stream_and_the_other_feeds_still_run(tenant_logs):
    tenant_logs.roles["graph"].discard("AuditLog.Read.All")
    tenant_logs.roles["manage"].clear()

    report = m365_pull_cycle()

    errors = {run.stream: run.error for run in report.runs if run.error}
    assert "AuditLog.Read.All" in errors["signins"]
    assert all("ActivityFeed.Read" in errors[f"audit:{content_type}"] for content_type in CONTENT_TYPES)
    assert events("graph-alerts") == 2 and events("message-trace") == 3


def test_one_token_per_resource_serves_the_whole_cycle(tenant_logs):
    m365_pull_cycle()
    m365_pull_cycle()

    scopes = [request["scope"] for request in tenant_logs.token_requests]
    assert sorted(scopes) == sorted([f"{tenant_logs.url('graph')}/.default", f"{tenant_logs.url('manage')}/.default"])


def test_nothing_runs_without_a_configured_tenant(settings, db):
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""

    report = m365_pull_cycle()

    assert "No Microsoft 365 tenant is configured" in report.skipped


def test_a_spent_time_budget_stops_at_a_checkpoint_and_the_next_cycle_carries_on(tenant_logs):
    first = m365_pull_cycle(budget_seconds=0)

    assert first.ok and first.fetched == 0
    assert all("time budget" in "\n".join(run.notes) for run in first.runs)
    assert m365_pull_cycle().fetched == 18

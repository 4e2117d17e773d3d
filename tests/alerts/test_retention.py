"""Retention: events past the admin's setting are purged, what alerts and findings rest on stays."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from airportal.models import AuditEntry
from airportal.services import portal_settings_update
from alerts import retention
from alerts.models import Event
from alerts.partitions import DEFAULT_PARTITION, event_partitions, event_partitions_ensure
from alerts.retention import event_volume_by_month, events_next_purge, events_purge, retention_days
from investigations.models import Finding, Investigation
from tests.factories import AlertFactory, EventFactory, IdentityFactory, InvestigationFactory

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC)
OLD = (NOW - timedelta(days=400)).replace(day=10, hour=12)  # mid-month: its +2 h stays in the month


@pytest.fixture
def history():
    """Old events (one linked to an alert, one to a closed investigation's finding, two linked to
    nothing) and a recent one, each in a partition of its own month on PostgreSQL."""
    identity = IdentityFactory(upn="megan@contoso.com")
    events = {
        "alert": EventFactory(identity=identity, occurred_at=OLD, ip="198.51.100.1"),
        "finding": EventFactory(identity=identity, occurred_at=OLD + timedelta(hours=1), ip="198.51.100.2"),
        "plain": EventFactory(identity=identity, occurred_at=OLD + timedelta(hours=2), ip="198.51.100.3"),
        "plain2": EventFactory(identity=identity, occurred_at=OLD + timedelta(days=40), ip="198.51.100.4"),
        "recent": EventFactory(identity=identity, occurred_at=NOW - timedelta(days=1), ip="198.51.100.5"),
    }
    AlertFactory(identity=identity).events.add(events["alert"])
    investigation = InvestigationFactory(identity=identity, status=Investigation.Status.REMEDIATED)
    finding = Finding.objects.create(
        investigation=investigation, check_key="signins", title="Sign-ins", verdict=Finding.Verdict.MALICIOUS
    )
    finding.events.add(events["finding"])
    event_partitions_ensure(since=OLD)  # PostgreSQL: the old months get partitions, as live data would have
    return {"events": events, "investigation": investigation}


def test_events_past_retention_go_and_the_evidence_stays(history):
    events = history["events"]
    result = events_purge()
    remaining = set(Event.objects.values_list("ip", flat=True))
    assert remaining == {"198.51.100.1", "198.51.100.2", "198.51.100.5"}
    assert list(Event.objects.get(ip="198.51.100.1").alerts.all()) == list(events["alert"].alerts.all())
    assert result.evidence_kept + result.rows_deleted >= 2


def test_a_closed_investigation_still_shows_the_events_it_rests_on(history, analyst_client):
    events_purge()
    page = analyst_client.get(reverse("investigations:investigation_detail", args=[history["investigation"].pk]))
    assert f'id="event-{history["events"]["finding"].pk}"'.encode() in page.content


def test_postgres_drops_whole_partitions_and_keeps_the_evidence_in_the_default(history, require_postgres):
    old_month = f"alerts_event_p{OLD:%Y%m01}"
    assert old_month in [p.name for p in event_partitions()]
    result = events_purge()
    names = [p.name for p in event_partitions()]
    assert old_month in result.partitions_dropped and old_month not in names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, ip FROM alerts_event WHERE occurred_at < %s", [OLD + timedelta(days=1)]
        )
        rows = sorted(cursor.fetchall())
    assert rows == [(DEFAULT_PARTITION, "198.51.100.1"), (DEFAULT_PARTITION, "198.51.100.2")]
    current = f"alerts_event_p{NOW:%Y%m01}"
    assert current in names, "partitions inside retention are kept"


def test_a_purge_is_audited_and_the_audit_log_is_never_purged(history):
    before = AuditEntry.objects.count()
    events_purge()
    entry = AuditEntry.objects.get(verb="events.purged")
    assert entry.actor_label == "system" and "cutoff" in entry.changes
    assert AuditEntry.objects.count() == before + 1
    events_purge()
    assert AuditEntry.objects.filter(verb="events.purged").count() == 1, "nothing left to purge, nothing recorded"


def test_the_purge_deletes_in_batches_until_done(monkeypatch):
    identity = IdentityFactory()
    for hours in range(7):
        EventFactory(identity=identity, occurred_at=OLD + timedelta(hours=hours))
    monkeypatch.setattr(retention, "BATCH", 2)
    result = events_purge()  # no partition covers them on PostgreSQL either: the default partition holds them
    assert not Event.objects.exists()
    assert result.rows_deleted == 7


def test_retention_follows_the_setting(admin_user):
    identity = IdentityFactory()
    event = EventFactory(identity=identity, occurred_at=NOW - timedelta(days=100))
    events_purge()
    assert Event.objects.filter(pk=event.pk).exists(), "inside the default 180 days"
    portal_settings_update(actor=admin_user, event_retention_days=60)
    assert retention_days() == 60
    event_partitions_ensure(since=event.occurred_at)  # its month ends at least 69 days ago
    events_purge()
    assert not Event.objects.filter(pk=event.pk).exists()


def test_next_purge_is_when_the_oldest_events_pass_retention(history):
    upcoming = events_next_purge()
    if connection.vendor == "postgresql":
        oldest_end = min(p.end for p in event_partitions() if p.end)
        assert upcoming == oldest_end + timedelta(days=180)
    else:
        assert upcoming == history["events"]["plain"].occurred_at + timedelta(days=180)


def test_volume_is_counted_per_month(history):
    volume = {row.month: row.rows for row in event_volume_by_month() if row.month}
    old_month = OLD.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert volume[old_month] == 3

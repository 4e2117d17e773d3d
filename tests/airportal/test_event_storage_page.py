"""The Administration page's event storage (volume per month, next purge) and the retention setting."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from airportal.models import AuditEntry
from airportal.services import portal_settings_get
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db
SETTINGS = {
    "accepted_domains": "contoso.com",
    "action_sla_minutes": 60,
    "alert_sla_minutes": 240,
    "investigation_lookback_days": 14,
}


def test_the_administration_page_shows_events_per_month_and_the_next_purge(admin_client):
    at = datetime(2025, 3, 14, 12, tzinfo=UTC)
    EventFactory(occurred_at=at)
    EventFactory(occurred_at=at + timedelta(days=1))
    page = admin_client.get(reverse("admin_home")).content.decode()
    assert 'id="event-volume"' in page
    assert "2025-03" in page and "Events are kept 180 days" in page
    assert "Next purge: <strong>2025-09-10 12:00 UTC</strong>" in page, "180 days after the oldest event"


def test_an_empty_tenant_has_nothing_to_purge(admin_client):
    page = admin_client.get(reverse("admin_home")).content.decode()
    assert "nothing to purge yet" in page and "No events yet." in page


def test_retention_is_a_tenant_setting_saved_and_audited(admin_client):
    response = admin_client.post(reverse("admin_settings"), {**SETTINGS, "event_retention_days": 365})
    assert response.status_code == 302
    assert portal_settings_get().event_retention_days == 365
    entry = AuditEntry.objects.get(verb="settings.changed")
    assert (entry.changes["before"]["event_retention_days"], entry.changes["after"]["event_retention_days"]) == (
        180,
        365,
    )


@pytest.mark.parametrize("days", ["7", "5000", "soon"])
def test_a_retention_outside_30_days_to_ten_years_is_refused(admin_client, days):
    response = admin_client.post(reverse("admin_settings"), {**SETTINGS, "event_retention_days": days})
    assert response.status_code == 400
    assert portal_settings_get().event_retention_days == 180

"""The demo tenant end to end, through the real adapters: its attacks raise the alerts they
should, on the right identities, and its benign twins (a traveller, a newsletter mailbox, an
admin delegating a mailbox, a rule forwarding to a colleague) raise none."""

from datetime import UTC, datetime

import pytest

from alerts.models import Alert
from demo.records import demo_records
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)  # a Thursday: a full working week behind it

EXPECTED = {
    ("megan.bowen", "suspicious_signin"),
    ("megan.bowen", "suspicious_inbox_rule"),
    ("megan.bowen", "external_forwarding"),
    ("megan.bowen", "suspicious_email_sending"),
    ("lee.gu", "suspicious_signin"),
    ("lee.gu", "mfa_method_changed"),
    ("lee.gu", "oauth_app_consent"),
    ("diego.siciliani", "suspicious_signin"),
    ("diego.siciliani", "mailbox_permission_added"),
    ("alex.wilber", "external_alert"),
    (None, "external_alert"),  # the lobby kiosk's Defender alert: about no user
}


@pytest.fixture
def demo_alerts(django_capture_on_commit_callbacks):
    records = demo_records(now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        for source in ("entra-signins", "o365-audit", "message-trace", "graph-alerts"):
            ingest_judged(source=source, records=records[source])
    alerts = Alert.objects.select_related("identity")
    return {(alert.identity.upn.split("@")[0] if alert.identity else None, alert.detector): alert for alert in alerts}


def test_demo_attacks_raise_exactly_the_expected_alerts(demo_alerts):
    assert set(demo_alerts) == EXPECTED
    assert Alert.objects.count() == len(EXPECTED)  # one alert per detector and identity: repeats folded


def test_demo_benign_twins_stay_quiet(demo_alerts):
    quiet = {"christie.cline", "news", "allan.deyoung", "patti.fernandez", "joni.sherman", "johanna.lorenz"}
    assert not [key for key in demo_alerts if key[0] in quiet]


def test_demo_alerts_explain_themselves(demo_alerts):
    spray = demo_alerts[("lee.gu", "suspicious_signin")]
    assert "18 failed sign-ins for 18 accounts came from 95.173.136.77" in spray.description
    assert spray.evidence["spray"][0]["accounts"] == 18
    travel = demo_alerts[("diego.siciliani", "suspicious_signin")].evidence["impossible_travel"][0]
    assert travel["from"]["city"] == "Seattle" and travel["to"]["city"] == "Moscow" and travel["minutes"] == 50
    assert travel["speed_kmh"] > 800
    sending = demo_alerts[("megan.bowen", "suspicious_email_sending")]
    assert sending.evidence["window_recipients"] == 242
    assert sending.evidence["top_subject"] == "Updated remittance details - action required"
    assert sending.events.count() == sending.event_count > 0

"""Another product's alert that names no user (a Defender alert on a device with nobody logged
on, an app alert) is kept: an ``external_alert`` about no user that shows in the queue, is
triaged like any other, is suppressed by IP range, and starts no investigation."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertPolicy, AlertSuppression, Event, Identity
from alerts.services import suppression_create
from investigations.models import Investigation
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db


def device_alert(alert_id="da-9001", *, severity="high", status="new", device="laptop-17.contoso.com", **fields):
    """A Graph security alert (v2) on one device with nobody logged on, as Defender for Endpoint sends it."""
    return {
        "id": alert_id,
        "providerAlertId": alert_id.removeprefix("da-"),
        "incidentId": "42",
        "title": "Suspicious PowerShell command line",
        "description": "A suspicious PowerShell activity was observed on the machine.",
        "category": "Execution",
        "severity": severity,
        "status": status,
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "productName": "Microsoft Defender for Endpoint",
        "createdDateTime": "2026-11-30T08:01:00Z",
        "firstActivityDateTime": "2026-11-30T07:58:00Z",
        "lastUpdateDateTime": "2026-11-30T08:05:00Z",
        "evidence": [
            {
                "@odata.type": "#microsoft.graph.security.deviceEvidence",
                "deviceDnsName": device,
                "mdeDeviceId": "7a1f0c",
                "osPlatform": "Windows11",
                "loggedOnUsers": [],
                "roles": [],
            },
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.9"},
        ],
        **fields,
    }


def test_a_device_alert_is_an_alert_about_no_user_and_opens_no_investigation():
    result = ingest_judged(source="graph-alerts", records=[device_alert()])
    assert (result.created, result.skipped, result.rejected) == (1, [], [])
    alert = Alert.objects.get()
    assert (alert.detector, alert.identity, alert.severity) == ("external_alert", None, "high")
    assert alert.title == "Suspicious PowerShell command line on laptop-17.contoso.com"
    assert alert.subject_names == ["laptop-17.contoso.com"]
    assert "on laptop-17.contoso.com" in alert.description
    assert list(alert.events.values_list("identity", "kind")) == [(None, Event.Kind.EXTERNAL_ALERT)]
    assert not Identity.objects.exists()
    assert not Investigation.objects.exists()


def test_the_same_alert_twice_is_one_alert_and_two_devices_two_alerts():
    ingest_judged(source="graph-alerts", records=[device_alert()])
    ingest_judged(source="graph-alerts", records=[device_alert(), device_alert("da-9002", device="srv-02")])
    assert sorted(Alert.objects.values_list("title", flat=True)) == [
        "Suspicious PowerShell command line on laptop-17.contoso.com",
        "Suspicious PowerShell command line on srv-02",
    ]


def test_the_policy_still_leaves_out_resolved_and_minor_alerts():
    records = [device_alert("da-1", status="resolved"), device_alert("da-2", severity="informational")]
    ingest_judged(source="graph-alerts", records=records)
    assert not Alert.objects.exists()
    assert Event.objects.filter(identity__isnull=True).count() == 2


def test_an_ip_range_suppression_silences_it_too():
    suppression_create(
        policy=AlertPolicy.objects.get(detector="external_alert"),
        kind="ip_range",
        value="203.0.113.0/24",
        reason="red team exercise",
        expires_at=timezone.now() + timedelta(days=1),
        actor=None,
    )
    ingest_judged(source="graph-alerts", records=[device_alert()])
    assert not Alert.objects.exists()
    assert AlertSuppression.objects.get().hit_count == 1


def test_an_alert_about_no_user_and_one_about_a_user_do_not_fold_together():
    user_alert = device_alert(
        "da-7",
        evidence=[
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {"userPrincipalName": "megan.bowen@contoso.com"},
            }
        ],
    )
    ingest_judged(source="graph-alerts", records=[device_alert("da-7"), user_alert])
    assert sorted(Alert.objects.values_list("identity__upn", flat=True), key=str) == [None, "megan.bowen@contoso.com"]
    assert Investigation.objects.get().identity.upn == "megan.bowen@contoso.com"


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://security.microsoft.com/alerts/da-9001?tid=t", True),
        ("javascript:alert(document.cookie)", False),
        ("http://security.microsoft.com/alerts/da-9001", False),
    ],
)
def test_the_alert_page_links_the_source_alert_over_https_only(analyst_client, url, linked):
    ingest_judged(source="graph-alerts", records=[device_alert(alertWebUrl=url)])
    alert = Alert.objects.get()
    html = analyst_client.get(reverse("alerts:alert_detail", args=[alert.pk])).content.decode()
    assert ("Open in Microsoft Defender for Endpoint" in html) is linked
    assert (f'href="{url}"' in html) is linked
    assert "javascript:" not in html.split("<main", 1)[-1].split("Why it fired")[0]

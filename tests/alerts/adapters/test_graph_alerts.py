"""The Graph security alert v2 adapter: an external_alert per account the evidence names."""

from alerts.models import Event
from tests.alerts.support.ingest import dataset_lines, normalise, one

PANTHER = "panther-analysis/tests_MicrosoftGraph_SecurityAlertV2.jsonl"


def test_panther_alert_with_user_and_ip_evidence():
    event = one("graph-alerts", dataset_lines(PANTHER)[0]["log"])
    assert (event.kind, event.upn) == (Event.Kind.EXTERNAL_ALERT, "homer.simpson@corporation.onmicrosoft.com")
    assert (event.ip, event.country) == ("185.220.103.6", "US")
    assert event.attributes["title"] == "Anonymous IP address"
    assert event.attributes["severity"] == "medium"
    assert event.attributes["service_source"] == "microsoftDefenderForIdentity"
    assert event.attributes["evidence_ips"] == ["185.220.103.6"]
    assert event.external_id == "011d5ede-0faa-4946-a25e-b2cd0c47a52c"


def test_alerts_without_any_account_are_kept_about_no_user():
    for case in dataset_lines(PANTHER)[2:]:
        event = one("graph-alerts", case["log"])
        assert (event.kind, event.upn) == (Event.Kind.EXTERNAL_ALERT, None)
        assert event.source_record_id == case["log"]["id"]
        assert event.attributes["status"] == case["log"]["status"]
        assert (event.attributes["devices"], event.attributes["apps"]) == ([], [])


def alert(*evidence, **overrides) -> dict:
    record = {
        "id": "da637",
        "providerAlertId": "637",
        "title": "Suspicious inbox forwarding",
        "severity": "high",
        "status": "resolved",
        "category": "Exfiltration",
        "serviceSource": "microsoftDefenderForOffice365",
        "createdDateTime": "2024-03-01T10:05:00Z",
        "firstActivityDateTime": "2024-03-01T10:00:00Z",
        "evidence": list(evidence),
    }
    record.update(overrides)
    return record


def test_each_user_and_mailbox_gets_an_event_and_resolved_alerts_are_kept():
    events = normalise(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {"userPrincipalName": "A@Contoso.com"},
            },
            {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "b@contoso.com"},
            {
                "@odata.type": "#microsoft.graph.security.mailboxEvidence",
                "upn": "a@contoso.com",
                "roles": ["compromised"],
            },
        ),
    )
    assert [event.upn for event in events] == ["a@contoso.com", "b@contoso.com"]
    assert {event.source_record_id for event in events} == {"da637:a@contoso.com", "da637:b@contoso.com"}
    assert events[0].attributes["status"] == "resolved"
    assert events[0].attributes["provider_alert_id"] == "637"
    assert events[0].occurred_at.isoformat() == "2024-03-01T10:00:00+00:00"


def test_message_recipients_are_the_fallback_when_no_user_is_named():
    event = one(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.analyzedMessageEvidence",
                "recipientEmailAddress": "c@contoso.com",
            }
        ),
    )
    assert event.upn == "c@contoso.com"


def test_account_name_and_domain_make_a_upn():
    event = one(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {"accountName": "d", "domainName": "contoso.com"},
            }
        ),
    )
    assert event.upn == "d@contoso.com"


def test_a_device_alert_with_nobody_logged_on_names_the_device():
    event = one(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.deviceEvidence",
                "deviceDnsName": "laptop-17.contoso.com",
                "mdeDeviceId": "7a1f",
                "loggedOnUsers": [],
            },
            {"@odata.type": "#microsoft.graph.security.deviceEvidence", "hostName": "srv-02", "mdeDeviceId": "9c"},
            {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "7a1f-dup"},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.9"},
            title="Suspicious PowerShell command line",
        ),
    )
    assert event.upn is None
    assert event.attributes["devices"] == ["laptop-17.contoso.com", "srv-02", "7a1f-dup"]
    assert (event.source_record_id, event.ip, event.subject) == (
        "da637",
        "203.0.113.9",
        "Suspicious PowerShell command line",
    )


def test_an_app_alert_names_the_app():
    event = one(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.oauthApplicationEvidence",
                "displayName": "Mail Sync",
                "appId": "a1",
            },
            {"@odata.type": "#microsoft.graph.security.cloudApplicationEvidence", "appId": "11161"},
        ),
    )
    assert (event.upn, event.attributes["apps"]) == (None, ["Mail Sync", "11161"])


def test_a_logged_on_user_still_makes_the_device_alert_that_users():
    event = one(
        "graph-alerts",
        alert(
            {
                "@odata.type": "#microsoft.graph.security.deviceEvidence",
                "deviceDnsName": "laptop-17.contoso.com",
                "loggedOnUsers": [{"accountName": "e", "domainName": "contoso.com"}],
            }
        ),
    )
    assert event.upn == "e@contoso.com"

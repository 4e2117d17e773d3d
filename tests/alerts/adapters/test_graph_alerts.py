"""The Graph security alert v2 adapter: an external_alert per account the evidence names."""

from alerts.models import Event
from tests.alerts.support.ingest import dataset_lines, error_of, normalise, one

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


def test_alerts_without_any_account_say_so():
    for case in dataset_lines(PANTHER)[2:]:
        assert error_of("graph-alerts", case["log"]) == (
            "the alert names no user or mailbox in its evidence (a device or app alert)"
        )


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

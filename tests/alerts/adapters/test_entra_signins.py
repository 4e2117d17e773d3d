"""The Entra sign-ins adapter: Graph signIn, Azure Monitor / Event Hub envelopes, directory audits."""

import pytest

from alerts.adapters.base import RecordSkipped
from alerts.models import Event
from tests.alerts.support.ingest import dataset_lines, error_of, normalise, one

GRAPH = "sekoia-intake-formats/entra_graphapi_signin_directoryaudit.jsonl"
EVENT_HUB = "sekoia-intake-formats/entra_eventhub_diagnostic_logs.jsonl"
PANTHER = "panther-analysis/tests_Azure_Audit.jsonl"


def test_every_sample_is_an_event_or_a_no_user_error():
    records = dataset_lines(GRAPH) + dataset_lines(EVENT_HUB) + [case["log"] for case in dataset_lines(PANTHER)]
    stored = 0
    for record in records:
        try:
            stored += len(normalise("entra-signins", record))
        except RecordSkipped as exc:  # valid, out of scope: counted as skipped
            assert "names no user" in str(exc)
    assert stored >= 50


def test_graph_sign_in_keeps_location_client_and_risk():
    event = one("entra-signins", dataset_lines(GRAPH)[12])
    assert (event.kind, event.succeeded, event.ip) == (Event.Kind.SIGNIN, True, "192.0.2.1")
    assert (event.country, event.city) == ("US", "Redmond")
    assert event.latitude == pytest.approx(47.6805)
    assert event.app == "Graph explorer"
    assert event.attributes["client_app"] == "Browser"
    assert event.attributes["legacy_protocol"] is False
    assert event.attributes["risk_level"] == "none"
    assert event.attributes["conditional_access_status"] == "notApplied"
    assert event.dedup_key == "signin:00000000-0000-0000-0000-000000000000"
    assert event.display_name == "user1"


def test_event_hub_sign_in_with_a_legacy_client_and_ipv6():
    event = one("entra-signins", dataset_lines(EVENT_HUB)[7])
    assert event.ip == "2001:db8:85a3::8a2e:370:7334"
    assert event.attributes["client_app"] == "Exchange Web Services"
    assert event.attributes["legacy_protocol"] is True
    assert event.attributes["authentication_requirement"] == "singleFactorAuthentication"
    assert event.attributes["category"] == "SignInLogs"
    assert event.country == ""  # Entra gave no location; geolocation happens at storage


def test_event_hub_failed_sign_in_reads_error_code_and_reason():
    event = one("entra-signins", dataset_lines(EVENT_HUB)[14])
    assert (event.kind, event.succeeded) == (Event.Kind.SIGNIN_FAILED, False)
    assert event.attributes["error_code"] == 50158
    assert event.attributes["failure_reason"] == "External security challenge was not satisfied."
    assert (event.country, event.city) == ("FR", "Bordeaux")
    assert event.attributes["conditional_access_status"] == "failure"


def test_service_principal_sign_ins_are_rejected_with_a_reason():
    assert error_of("entra-signins", dataset_lines(EVENT_HUB)[20]) == "a service principal's sign-in names no user"


def test_directory_password_change_from_the_audit_envelope():
    event = one("entra-signins", dataset_lines(EVENT_HUB)[6])
    assert (event.kind, event.upn, event.succeeded) == (Event.Kind.PASSWORD_CHANGED, "user1", True)


def test_user_risk_detection_is_kept_with_its_risk():
    event = one("entra-signins", dataset_lines(EVENT_HUB)[22])
    assert event.kind == Event.Kind.RISK_DETECTION
    assert event.attributes["risk_event_type"] == "unfamiliarFeatures"
    assert event.attributes["risk_event_types"] == ["unfamiliarFeatures"]
    assert event.occurred_at.isoformat() == "2022-03-24T14:40:04.234000+00:00"
    assert (event.attributes["risk_state"], event.attributes["risk_detail"]) == ("dismissed", "aiConfirmedSigninSafe")
    assert event.attributes["request_id"] == "33333333-3333-3333-3333-333333333333"  # the sign-in it names
    assert event.attributes["detected_at"] == "2022-03-24T14:40:04.234000+00:00"
    assert (event.ip, event.country, event.city) == ("1.2.3.4", "FR", "La Guaiserie")
    assert event.user_agent.startswith("Mozilla/5.0 (iPhone")  # from additionalInfo


def test_user_risk_detections_read_their_state_reasons_and_unknown_coordinates():
    open_risk = one("entra-signins", dataset_lines(EVENT_HUB)[23])
    assert (open_risk.attributes["risk_state"], open_risk.attributes["risk_level"]) == ("atrisk", "low")
    assert open_risk.attributes["detection_timing"] == "realtime" and open_risk.attributes["activity"] == "signin"
    assert "UnfamiliarASN" in open_risk.attributes["risk_reasons"]
    assert open_risk.occurred_at.isoformat() == "2023-10-26T05:32:08.107000+00:00"  # "T5:32": one-digit hour
    dismissed = one("entra-signins", dataset_lines(EVENT_HUB)[24])
    assert (dismissed.latitude, dismissed.longitude) == (None, None)  # Entra's 0,0 means unknown
    assert dismissed.attributes["mitre_technique"] == "T1078.004"


def test_a_graph_risk_detection_is_the_same_event_as_its_diagnostic_copy():
    graph = dataset_lines(EVENT_HUB)[22]["properties"]  # the Graph riskDetection inside the envelope
    event = one("entra-signins", graph)
    assert event.kind == Event.Kind.RISK_DETECTION and event.attributes["risk_state"] == "dismissed"
    assert event.operation == "Risk detection" and event.target == "unfamiliarFeatures"


def test_panther_risky_and_legacy_sign_ins():
    cases = {case["test_name"]: case["log"] for case in dataset_lines(PANTHER)}
    risky = [one("entra-signins", log) for name, log in cases.items() if "High Risk" in name and "properties" in log]
    assert any(event.attributes["risk_level"] == "high" for event in risky)
    legacy = one("entra-signins", cases["Sign-In with legacy auth"])
    assert (legacy.attributes["client_app"], legacy.attributes["legacy_protocol"]) == ("Authenticated SMTP", True)
    assert legacy.user_agent == "BAV2ROPC"


def signin(**overrides) -> dict:
    record = {
        "id": "66EA54EB-6301-4EE5-BE62-FF5A759B0100",
        "createdDateTime": "2024-03-01T10:00:00Z",
        "userPrincipalName": "Megan@Contoso.com",
        "userDisplayName": "Megan Bowen",
        "userId": "26be570a-ae82-4189-b4e2-a37c6808512d",
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": "203.0.113.7",
        "clientAppUsed": "IMAP4",
        "status": {"errorCode": 50126, "failureReason": "Invalid username or password."},
        "riskLevelDuringSignIn": "High",
        "riskState": "atRisk",
        "riskEventTypes_v2": ["anonymizedIPAddress"],
        "location": {"city": "", "countryOrRegion": "", "geoCoordinates": {"latitude": 0, "longitude": 0}},
    }
    record.update(overrides)
    return record


def test_hand_written_failed_legacy_risky_sign_in():
    event = one("entra-signins", signin())
    assert (event.kind, event.upn, event.external_id) == (
        Event.Kind.SIGNIN_FAILED,
        "megan@contoso.com",
        "26be570a-ae82-4189-b4e2-a37c6808512d",
    )
    assert event.attributes["legacy_protocol"] is True
    assert (event.attributes["risk_level"], event.attributes["risk_state"]) == ("high", "atrisk")
    assert event.attributes["risk_event_types"] == ["anonymizedIPAddress"]
    assert (event.latitude, event.longitude, event.country) == (None, None, "")
    assert event.dedup_key == "signin:66ea54eb-6301-4ee5-be62-ff5a759b0100"


def test_missing_user_and_time_are_errors():
    assert "names no user" in error_of("entra-signins", signin(userPrincipalName=None))
    assert error_of("entra-signins", signin(createdDateTime=None)) == "missing timestamp"


def test_security_info_registration_from_a_directory_audit():
    record = {
        "id": "Directory_1",
        "activityDateTime": "2024-03-01T10:00:00Z",
        "activityDisplayName": "User registered security info",
        "category": "UserManagement",
        "loggedByService": "Authentication Methods",
        "result": "success",
        "resultReason": "User registered Authenticator App with Notification and Code",
        "initiatedBy": {"user": {"userPrincipalName": "megan@contoso.com", "ipAddress": "198.51.100.1"}},
        "targetResources": [{"type": "User", "userPrincipalName": "megan@contoso.com", "modifiedProperties": []}],
    }
    event = one("entra-signins", record)
    assert (event.kind, event.upn, event.ip) == (Event.Kind.MFA_METHOD_CHANGED, "megan@contoso.com", "198.51.100.1")
    assert event.attributes["detail"] == "User registered Authenticator App with Notification and Code"

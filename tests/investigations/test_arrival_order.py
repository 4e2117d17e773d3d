"""Order of arrival never changes a verdict: an AiTM-style takeover whose sign-in reaches us twice
(the unified audit log's sparse copy and Graph's rich one) and whose MFA registration may come
before or after the sign-in log, run end to end (ingest → detection → investigation)."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert, Event
from investigations.models import Investigation
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db
T = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)
HOME_IP, ATTACKER_IP = "20.190.151.10", "102.89.32.18"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/121.0.0.0 Safari/537.36"


def _graph(upn, request_id, at, *, ip=HOME_IP, asn=8075, place=("Seattle", "US", 47.61, -122.33), **extra):
    city, country, latitude, longitude = place
    return {
        "id": request_id,
        "createdDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userPrincipalName": upn,
        "appId": "4765445b-32c6-49b0-83e6-1d93765276ca",
        "appDisplayName": "OfficeHome",
        "ipAddress": ip,
        "autonomousSystemNumber": asn,
        "clientAppUsed": "Browser",
        "userAgent": BROWSER,
        "isInteractive": True,
        "authenticationRequirement": "multiFactorAuthentication",
        "resourceDisplayName": "Office 365 Exchange Online",
        "status": {"errorCode": 0},
        "location": {
            "city": city,
            "countryOrRegion": country,
            "geoCoordinates": {"latitude": latitude, "longitude": longitude},
        },
        **extra,
    }


def _audit_copy(upn, request_id, at, ip):
    return {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": f"audit-{request_id}",
        "Operation": "UserLoggedIn",
        "RecordType": 15,
        "ResultStatus": "Success",
        "Workload": "AzureActiveDirectory",
        "UserId": upn,
        "ClientIP": ip,
        "ObjectId": "00000002-0000-0ff1-ce00-000000000000",
        "ApplicationId": "4765445b-32c6-49b0-83e6-1d93765276ca",
        "InterSystemsId": f"corr-{request_id}",
        "IntraSystemId": request_id,
        "ExtendedProperties": [
            {"Name": "UserAgent", "Value": BROWSER},
            {"Name": "RequestType", "Value": "OAuth2:Authorize"},
        ],
    }


def _registration(upn, at, ip):
    return {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": f"mfa-{upn}",
        "Operation": "User registered security info.",
        "RecordType": 8,
        "ResultStatus": "Success",
        "Workload": "AzureActiveDirectory",
        "UserId": upn,
        "ClientIP": ip,
        "ObjectId": upn,
        "ModifiedProperties": [],
        "Actor": [{"ID": upn, "Type": 5}],
        "Target": [{"ID": upn, "Type": 5}],
    }


def _takeover(upn: str, *, sign_in_log_first: bool):
    ingest_judged(
        source="entra-signins",
        records=[_graph(upn, f"{upn}-home-{day}", T - timedelta(days=day)) for day in range(10, 0, -1)],
    )
    request_id = f"{upn}-attack"
    graph = _graph(
        upn,
        request_id,
        T,
        ip=ATTACKER_IP,
        asn=29465,
        place=("Lagos", "NG", 6.52, 3.38),
        riskLevelDuringSignIn="medium",
        riskState="atRisk",
        riskEventTypes_v2=["unfamiliarFeatures"],
    )
    audit = [_audit_copy(upn, request_id, T, ATTACKER_IP), _registration(upn, T + timedelta(minutes=12), ATTACKER_IP)]
    deliveries = [("entra-signins", [graph]), ("o365-audit", audit)]
    for source, records in deliveries if sign_in_log_first else reversed(deliveries):
        ingest_judged(source=source, records=records)


def _outcome(upn: str):
    alerts = {
        (alert.detector, alert.severity, tuple(sorted({code.split(":")[0] for code in alert.evidence["reasons"]})))
        for alert in Alert.objects.filter(identity__upn=upn)
    }
    investigation = Investigation.objects.get(identity__upn=upn)
    attack_signins = Event.objects.filter(identity__upn=upn, ip=ATTACKER_IP, kind=Event.Kind.SIGNIN)
    return alerts, investigation.verdict, attack_signins.count()


def test_the_verdict_is_the_same_whichever_copy_and_record_arrives_first():
    _takeover("graph.first@contoso.com", sign_in_log_first=True)
    _takeover("audit.first@contoso.com", sign_in_log_first=False)
    graph_first, audit_first = _outcome("graph.first@contoso.com"), _outcome("audit.first@contoso.com")
    assert graph_first == audit_first
    alerts, verdict, signins = graph_first
    assert signins == 1  # the two copies are one event
    assert verdict == Investigation.Verdict.COMPROMISED
    assert ("mfa_method_changed", "high", ("after_risky", "unfamiliar_network")) in alerts
    assert any(detector == "suspicious_signin" and "source_risk" in codes for detector, _, codes in alerts)

"""End to end: an offline Entra ID Protection detection, delivered hours after an unremarkable
sign-in and the MFA registration that followed it, is what makes the takeover visible; a dismissed
one changes nothing; an admin's confirmation alone is Microsoft's word."""

from datetime import timedelta

import pytest

from alerts.models import Alert
from investigations.models import Finding, Investigation
from tests.investigations.test_arrival_order import T, _graph, _registration
from tests.m365 import records
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db
PROXY_IP = "20.190.151.77"  # an AiTM proxy exit on the user's own network: nothing odd on the sign-in


def _quiet_takeover(upn: str) -> str:
    ingest_judged(
        source="entra-signins",
        records=[_graph(upn, f"{upn}-home-{day}", T - timedelta(days=day)) for day in range(10, 0, -1)],
    )
    request_id = f"{upn}-proxied"
    ingest_judged(source="entra-signins", records=[_graph(upn, request_id, T, ip=PROXY_IP)])
    ingest_judged(source="o365-audit", records=[_registration(upn, T + timedelta(minutes=12), PROXY_IP)])
    return request_id


def _detection(upn, request_id, **fields):
    record = records.risk_detection(
        T, upn, detected=T + timedelta(hours=6), request_id=request_id, ip=PROXY_IP, **fields
    )
    record["location"] = {
        "city": "Seattle",
        "countryOrRegion": "US",
        "geoCoordinates": {"latitude": 47.61, "longitude": -122.33},
    }
    return record


def _flagged(investigation) -> dict[str, str]:
    return {f.check_key: f.verdict for f in investigation.findings.all() if f.verdict in ("malicious", "suspicious")}


def test_an_offline_detection_arriving_hours_later_makes_the_takeover_compromised():
    upn = "quiet.victim@contoso.com"
    request_id = _quiet_takeover(upn)
    assert not Alert.objects.filter(identity__upn=upn).exists()  # nothing to see without Identity Protection

    ingest_judged(source="entra-signins", records=[_detection(upn, request_id)])

    detectors = set(Alert.objects.filter(identity__upn=upn).values_list("detector", flat=True))
    assert detectors == {"suspicious_signin", "mfa_method_changed"}
    investigation = Investigation.objects.get(identity__upn=upn)
    assert investigation.verdict == Investigation.Verdict.COMPROMISED
    flagged = _flagged(investigation)
    assert flagged["signins.risky_ip"] == Finding.Verdict.MALICIOUS and flagged["mfa"] == Finding.Verdict.MALICIOUS
    risky = investigation.findings.get(check_key="signins.risky_ip")
    assert "1 risk detection" in risky.explanation and "attackerinTheMiddle" in risky.explanation
    assert "remove_mfa_method" in set(investigation.actions.values_list("kind", flat=True))


def test_a_dismissed_detection_changes_nothing():
    upn = "traveller@contoso.com"
    request_id = _quiet_takeover(upn)
    ingest_judged(
        source="entra-signins",
        records=[_detection(upn, request_id, state="dismissed", risk_type="unlikelyTravel", level="medium")],
    )
    assert not Alert.objects.filter(identity__upn=upn).exists()
    assert not Investigation.objects.filter(identity__upn=upn).exists()


def test_an_admin_confirmation_alone_is_microsofts_word_whatever_its_level():
    upn = "confirmed@contoso.com"
    ingest_judged(
        source="entra-signins",
        records=[_graph(upn, f"{upn}-home-{day}", T - timedelta(days=day)) for day in range(10, 0, -1)],
    )
    confirmation = _detection(
        upn,
        None,
        risk_type="adminConfirmedUserCompromised",
        level="low",
        state="confirmedCompromised",
        timing="offline",
    )
    confirmation["activity"] = "user"
    ingest_judged(source="entra-signins", records=[confirmation])

    investigation = Investigation.objects.get(identity__upn=upn)
    assert investigation.verdict == Investigation.Verdict.COMPROMISED
    assert investigation.verdict_rule == Investigation.VerdictRule.MICROSOFT_CONFIRMED
    assert _flagged(investigation)["microsoft"] == Finding.Verdict.MALICIOUS

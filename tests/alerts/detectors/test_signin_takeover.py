"""``suspicious_signin`` on today's MFA-bypassing takeovers: device code outside the habit,
phishing-kit clients, a replayed session, MFA failed after the right password from a stranger's
network. Real records from ../shared/datasets where one exists, built events otherwise."""

import copy
from datetime import timedelta

import pytest

from alerts.models import Alert
from tests.alerts.support.detection import (
    LAGOS,
    SEATTLE,
    T0,
    alerts_of,
    detect,
    identity,
    signin,
    signin_history,
)
from tests.alerts.support.ingest import dataset_lines
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db
HOME_IP = "20.190.151.10"


def _panther(rule_id: str, test_name: str) -> dict:
    for case in dataset_lines("panther-analysis/tests_Azure_Audit.jsonl"):
        if case["rule_id"] == rule_id and case["test_name"] == test_name:
            return copy.deepcopy(case["log"])
    raise AssertionError(f"no {rule_id} case {test_name!r}")


def _codes(detector="suspicious_signin") -> list[str]:
    return sorted(code.split(":")[0] for alert in alerts_of(detector) for code in alert.evidence["reasons"])


def test_a_device_code_sign_in_through_the_broker_fires_on_the_real_record():
    record = _panther("Azure.Audit.DeviceCodeBrokerClient", "Device Code Auth with Broker Client")
    ingest_judged(source="entra-signins", records=[record])
    [alert] = alerts_of("suspicious_signin")
    assert _codes() == ["device_code"] and alert.severity == "medium"
    assert "Signed in to Microsoft Authentication Broker with a device code" in alert.description


def test_a_device_code_sign_in_is_quiet_once_it_is_the_users_habit():
    record = _panther("Azure.Audit.DeviceCodeBrokerClient", "Device Code Without Broker Client")
    earlier = copy.deepcopy(record)
    earlier["time"] = "2025-01-10 11:20:15.789"
    ingest_judged(source="entra-signins", records=[earlier])
    assert _codes() == ["device_code"]  # the first one ever
    ingest_judged(source="entra-signins", records=[record])
    assert _codes() == ["device_code"]  # five days later: what this account does


def test_one_graph_session_used_from_two_countries_is_a_replayed_token_on_the_real_record():
    record = _panther("Azure.Audit.GraphSessionMultipleIPs", "Multiple IP Access to Same Microsoft Graph Session")
    replay = copy.deepcopy(record)
    replay["properties"].update(ipAddress="95.173.136.12", createdDateTime="2025-01-15T09:55:20Z")
    replay["properties"]["location"] = {"city": "Moscow", "countryOrRegion": "RU"}
    record["properties"]["location"] = {"city": "Frankfurt", "countryOrRegion": "DE"}
    ingest_judged(source="entra-signins", records=[record])
    assert "token_replay" not in _codes()
    ingest_judged(source="entra-signins", records=[replay])
    assert "token_replay" in _codes()
    [alert] = alerts_of("suspicious_signin")
    assert "One session was used from Frankfurt, DE (5.5.5.5)" in alert.description


def test_a_session_continued_on_the_same_network_or_nearby_is_not_replay():
    megan = identity()
    signin_history(megan)
    first = signin(megan, T0, SEATTLE, session_id="s-1")
    same_network = signin(megan, T0 + timedelta(hours=3), SEATTLE, ip="20.190.151.99", session_id="s-1")
    nearby = signin(megan, T0 + timedelta(hours=4), SEATTLE | {"latitude": 47.2}, ip="73.1.1.1", session_id="s-1")
    detect([first, same_network, nearby])
    assert "token_replay" not in _codes()


def test_office_home_through_an_http_library_is_a_phishing_kit_and_a_browser_is_not():
    megan = identity()
    signin_history(megan)
    browser = signin(megan, T0, SEATTLE, user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/122.0")
    msal = signin(megan, T0, SEATTLE, user_agent="python-msal/1.26.0")
    for event, app in ((browser, "OfficeHome"), (msal, "Office 365 Exchange Online")):
        event.app = app
        event.save(update_fields=["app"])
    detect([browser, msal])
    assert alerts_of("suspicious_signin") == []
    kit = signin(
        megan, T0 + timedelta(minutes=5), SEATTLE, ip="138.68.1.7", app_id="4765445b-32c6-49b0-83e6-1d93765276ca"
    )
    kit.user_agent = "axios/1.6.8"
    kit.save(update_fields=["user_agent"])
    detect([kit])
    [alert] = alerts_of("suspicious_signin")
    assert _codes() == ["kit_client"] and alert.severity == "medium"
    assert "with axios/1.6.8, an HTTP library and not a browser" in alert.description


def _mfa_failure(who, at, place, ip, code=500121):
    return signin(who, at, place, ip=ip, succeeded=False, error_code=code)


def test_password_right_mfa_failed_from_a_stranger_network_fires():
    megan = identity()
    signin_history(megan)
    detect([_mfa_failure(megan, T0, LAGOS, "102.89.32.18")])
    [alert] = alerts_of("suspicious_signin")
    assert _codes() == ["mfa_failed"]
    assert "The password was accepted but MFA was not passed (error 500121)" in alert.description


def test_mfa_failures_at_home_or_followed_by_a_success_from_the_same_network_stay_quiet():
    megan = identity()
    signin_history(megan)
    at_home = _mfa_failure(megan, T0, SEATTLE, HOME_IP, code=50074)
    hotel = _mfa_failure(megan, T0 + timedelta(hours=5), LAGOS, "102.89.32.18", code=50074)
    then_in = signin(megan, T0 + timedelta(hours=5, minutes=1), LAGOS, ip="102.89.32.18")
    detect([at_home, hotel, then_in])
    assert "mfa_failed" not in _codes()


def test_wrong_passwords_are_not_mfa_failures():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, LAGOS, ip="102.89.32.18", succeeded=False)])
    assert not Alert.objects.filter(detector="suspicious_signin").exists()

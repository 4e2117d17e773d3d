"""``mfa_method_changed``: a registration around an anomalous sign-in, in either order of arrival;
a registration from an unfamiliar network; MFA switched off."""

from datetime import timedelta

import pytest

from alerts.detectors.registry import DETECTORS, effective_parameters
from alerts.models import Event, IdentityBaseline, Severity
from tests.alerts.support.detection import LAGOS, SEATTLE, T0, alerts_of, detect, identity, signin, signin_history
from tests.personas import mfa_registered

pytestmark = pytest.mark.django_db
HOME_IP = "20.190.151.10"  # where signin_history signs in from
ATTACKER_IP = "102.89.32.18"
DETECTOR = DETECTORS["mfa_method_changed"]


def _codes(alert) -> set[str]:
    return {code.split(":")[0] for code in alert.evidence["reasons"]}


def _risky_signin(who, at=T0, **attributes):
    return signin(who, at, LAGOS, ip=ATTACKER_IP, **{"risk_level": "low", "risk_state": "atRisk", **attributes})


def test_a_sign_in_that_arrives_after_the_registration_still_pairs_with_it():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([mfa_registered(lee, T0 + timedelta(minutes=12), ip=HOME_IP)])
    assert alerts_of("mfa_method_changed") == []
    detect([_risky_signin(lee)])
    [alert] = alerts_of("mfa_method_changed")
    assert _codes(alert) == {"after_risky"} and alert.severity == Severity.HIGH
    assert "12 minutes after a sign-in from Lagos, NG" in alert.description
    assert "rated low risk" in alert.description


def test_either_order_of_arrival_raises_the_same_alert():
    outcomes = []
    for name, order in (("first", "change"), ("second", "signin")):
        who = identity(name)
        signin_history(who)
        arrivals = [
            lambda who=who: mfa_registered(who, T0 + timedelta(minutes=20), ip=ATTACKER_IP),
            lambda who=who: _risky_signin(who),
        ]
        for arrive in arrivals if order == "change" else reversed(arrivals):
            detect([arrive()])  # stored only when it arrives, as ingest does
        [alert] = [a for a in alerts_of("mfa_method_changed") if a.identity_id == who.pk]
        outcomes.append((_codes(alert), alert.severity, alert.title, alert.events.count()))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == {"after_risky", "unfamiliar_network"}


def test_a_dismissed_risk_is_not_risk():
    lee = identity("lee.gu")
    signin_history(lee, place=LAGOS, ip=ATTACKER_IP)
    detect([_risky_signin(lee, risk_state="dismissed"), mfa_registered(lee, T0 + timedelta(minutes=5), ip=ATTACKER_IP)])
    assert alerts_of("mfa_method_changed") == []


def test_a_script_user_agent_before_the_registration_fires():
    lee = identity("lee.gu")
    signin_history(lee)
    kit = signin(lee, T0, SEATTLE, ip=HOME_IP)
    kit.user_agent = "axios/1.6.8"
    kit.save(update_fields=["user_agent"])
    detect([kit, mfa_registered(lee, T0 + timedelta(minutes=3))])
    [alert] = alerts_of("mfa_method_changed")
    assert "the client was a script (axios/1.6.8), not a browser" in alert.description


def test_a_new_hosting_network_is_anomalous_and_a_known_or_home_one_is_not():
    lee = identity("lee.gu")
    history = signin_history(lee)
    for event in history:
        event.attributes["autonomous_system_number"] = 2856  # a home broadband carrier
    Event.objects.bulk_update(history, ["attributes"])
    IdentityBaseline.objects.filter(identity=lee).delete()
    detect(history)  # the baseline learns the user's carrier
    known = signin(lee, T0, SEATTLE, ip=HOME_IP, autonomous_system_number=2856)
    new_home = signin(lee, T0 + timedelta(hours=1), SEATTLE, ip=HOME_IP, autonomous_system_number=5089)
    detect([known, new_home, mfa_registered(lee, T0 + timedelta(hours=1, minutes=5))])
    assert alerts_of("mfa_method_changed") == []
    vps = signin(lee, T0 + timedelta(hours=2), SEATTLE, ip=HOME_IP, autonomous_system_number=14061)
    detect([vps, mfa_registered(lee, T0 + timedelta(hours=2, minutes=5))])
    [alert] = alerts_of("mfa_method_changed")
    assert "the network (AS14061, a hosting provider) was new for this user" in alert.description


def test_impossible_travel_from_the_sign_in_before_is_anomalous():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([signin(lee, T0, SEATTLE, ip=HOME_IP)])
    far = signin(lee, T0 + timedelta(minutes=50), SEATTLE | {"latitude": 40.71, "longitude": -74.01}, ip="64.1.1.1")
    detect([far, mfa_registered(lee, T0 + timedelta(minutes=55))])
    [alert] = alerts_of("mfa_method_changed")
    assert "km from the sign-in 50 minutes before" in alert.description


def test_a_registration_from_a_network_never_signed_in_from_is_a_medium_alert_alone():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([mfa_registered(lee, T0, ip="198.51.100.7")])
    [alert] = alerts_of("mfa_method_changed")
    assert (_codes(alert), alert.severity) == ({"unfamiliar_network"}, Severity.MEDIUM)
    assert alert.title == "MFA method registered from an unfamiliar network"


def test_a_helpdesk_reset_from_anywhere_is_not_the_users_registration():
    lee = identity("lee.gu")
    signin_history(lee)
    detect(
        [
            _risky_signin(lee),
            mfa_registered(lee, T0 + timedelta(minutes=5), ip="198.51.100.7", actor="admin@contoso.com"),
        ]
    )
    assert alerts_of("mfa_method_changed") == []


def test_per_user_mfa_switched_off_is_a_removal():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([mfa_registered(lee, T0, operation="Update user.", mfa_required_before=True, mfa_required_after=False)])
    [alert] = alerts_of("mfa_method_changed")
    assert (_codes(alert), alert.title) == ({"removed"}, "MFA removed")


def test_sign_ins_load_the_changes_after_them_and_changes_the_sign_ins_before_them():
    lee = identity("lee.gu")
    signin_history(lee)
    params = effective_parameters(DETECTOR, {})
    baseline = IdentityBaseline.objects.get(identity=lee)
    failed = signin(lee, T0, SEATTLE, ip=HOME_IP, succeeded=False)
    assert DETECTOR.context_needs(baseline, [failed], params) == frozenset()
    assert DETECTOR.context_needs(baseline, [_risky_signin(lee)], params) == {Event.Kind.MFA_METHOD_CHANGED}
    # A change: the sign-ins before it, the failed ones and the risk detections (which may name them).
    assert DETECTOR.context_needs(baseline, [mfa_registered(lee, T0)], params) == {
        Event.Kind.SIGNIN,
        Event.Kind.SIGNIN_FAILED,
        Event.Kind.RISK_DETECTION,
    }

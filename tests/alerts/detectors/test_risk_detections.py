"""Entra ID Protection risk detections (``risk_detection`` events, often offline: hours after the
sign-in they name) reach ``suspicious_signin`` and ``mfa_method_changed``; a sign-in Conditional
Access blocked is not access; a non-interactive sign-in alone breaks no country habit."""

from datetime import timedelta

import pytest

from alerts.adapters import ADAPTERS, AdapterContext
from alerts.models import Event, Severity
from tests.alerts.support.detection import LAGOS, SEATTLE, T0, alerts_of, detect, identity, signin, signin_history
from tests.factories import EventFactory
from tests.m365 import records
from tests.personas import mfa_registered

pytestmark = pytest.mark.django_db
HOME_IP = "20.190.151.10"  # signin_history's
PROXY_IP = "20.190.151.77"  # an AiTM proxy exit in the user's own city and range: nothing odd on the sign-in


def detection(who, activity, *, detected=None, request_id=None, **fields):
    """A Graph riskDetection stored as the adapter reads it."""
    record = records.risk_detection(
        activity, who.upn, detected=detected or activity + timedelta(hours=5), request_id=request_id, **fields
    )
    [event] = ADAPTERS["entra-signins"](record, AdapterContext(tenant_domains_loader=frozenset))
    assert event.kind == Event.Kind.RISK_DETECTION
    return EventFactory(
        identity=who,
        occurred_at=event.occurred_at,
        kind=event.kind,
        source="entra-signins",
        source_record_id=record["id"],
        operation=event.operation,
        ip=event.ip,
        country=event.country,
        city=event.city,
        latitude=event.latitude,
        longitude=event.longitude,
        target=event.target,
        attributes=event.attributes,
    )


def proxied_signin(who, **attributes):
    return signin(who, T0, SEATTLE, ip=PROXY_IP, request_id="5f0c7d4e-1b2a-4c3d-9e8f-a1b2c3d4e5f6", **attributes)


def codes(alert) -> set[str]:
    return {code.split(":")[0] for code in alert.evidence["reasons"]}


@pytest.mark.parametrize("order", ["detection_last", "detection_first"])
def test_an_offline_detection_pairs_with_the_registration_in_either_order(order):
    lee = identity("lee.gu")
    signin_history(lee)
    got_in = proxied_signin(lee)
    registered = mfa_registered(lee, T0 + timedelta(minutes=15))
    detect([got_in, registered])
    assert alerts_of("mfa_method_changed") == []  # nothing odd on the sign-in itself
    flagged = detection(lee, T0, request_id=got_in.attributes["request_id"])
    if order == "detection_first":  # the change arrives after the detection (the audit log lagging)
        registered.delete()
        detect([flagged])
        registered = mfa_registered(lee, T0 + timedelta(minutes=15))
        detect([registered])
    else:
        detect([flagged])

    [alert] = alerts_of("mfa_method_changed")
    assert codes(alert) == {"after_risky"} and alert.severity == Severity.HIGH
    assert "15 minutes after a sign-in from Seattle, US" in alert.description
    assert "Entra ID Protection flagged attackerinTheMiddle (high risk), detected offline 5 hours" in alert.description
    assert set(alert.events.values_list("pk", flat=True)) == {got_in.pk, registered.pk, flagged.pk}


def test_a_detection_whose_sign_in_is_not_stored_pairs_on_its_own():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([mfa_registered(lee, T0 + timedelta(minutes=30))])
    detect([detection(lee, T0, risk_type="anomalousToken", level="medium")])
    [alert] = alerts_of("mfa_method_changed")
    assert "30 minutes after a sign-in from Clifton, US" in alert.description
    assert "anomalousToken" in alert.description


def test_a_dismissed_or_remediated_detection_is_not_risk():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([proxied_signin(lee), mfa_registered(lee, T0 + timedelta(minutes=15))])
    detect([detection(lee, T0, state="dismissed"), detection(lee, T0, state="remediated", risk_type="unlikelyTravel")])
    assert alerts_of("mfa_method_changed") == [] and alerts_of("suspicious_signin") == []


def test_a_detection_on_a_sign_in_conditional_access_blocked_is_not_access():
    lee = identity("lee.gu")
    signin_history(lee)
    blocked = proxied_signin(lee, conditional_access_status="failure")
    detect([blocked, mfa_registered(lee, T0 + timedelta(minutes=15))])
    detect([detection(lee, T0, request_id=blocked.attributes["request_id"])])
    assert alerts_of("mfa_method_changed") == []


def test_a_risky_sign_in_conditional_access_blocked_does_not_pair_with_a_registration():
    lee = identity("lee.gu")
    signin_history(lee)
    blocked = signin(lee, T0, LAGOS, ip="102.89.32.18", risk_level="high", conditional_access_status="failure")
    detect([blocked, mfa_registered(lee, T0 + timedelta(minutes=10))])
    assert alerts_of("mfa_method_changed") == []
    detect([signin(lee, T0 + timedelta(hours=2), LAGOS, ip="102.89.32.18", risk_level="high")])
    assert alerts_of("mfa_method_changed") == []  # the registration came before this one got in


def test_an_offline_high_detection_alone_raises_a_suspicious_sign_in():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([detection(lee, T0, ip="167.99.10.23")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.severity == Severity.MEDIUM and alert.title == "Suspicious sign-in: risky sign-in"
    assert "Activity from Clifton, US (167.99.10.23)" in alert.description
    assert "detected offline 5 hours after the activity" in alert.description


def test_an_admin_confirmed_compromise_is_never_dropped_whatever_the_policy_levels(settings):
    from alerts.models import AlertPolicy

    AlertPolicy.objects.filter(detector="suspicious_signin").update(
        parameters={"risk_levels": ["high"], "risk_event_types": ["passwordSpray"]}
    )
    lee = identity("lee.gu")
    signin_history(lee)
    detect([detection(lee, T0, risk_type="adminConfirmedUserCompromised", level="low", state="confirmedCompromised")])
    [alert] = alerts_of("suspicious_signin")
    assert "adminConfirmedUserCompromised" in alert.description


def test_a_non_interactive_sign_in_alone_is_no_new_country_an_interactive_one_is():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([signin(lee, T0, LAGOS, ip="102.89.32.18", is_interactive=False)])
    assert alerts_of("suspicious_signin") == []
    detect([signin(lee, T0 + timedelta(hours=1), LAGOS, ip="102.89.32.19", is_interactive=True)])
    [alert] = alerts_of("suspicious_signin")
    assert codes(alert) == {"new_country"}

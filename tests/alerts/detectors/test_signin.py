"""suspicious_signin: each signal fires on its attack pattern and stays quiet on its benign twin."""

from datetime import timedelta

import pytest

from alerts.models import AlertPolicy
from alerts.services.policies import policy_update
from tests.alerts.support.detection import (
    LAGOS,
    LONDON,
    MOSCOW,
    NEW_YORK,
    SEATTLE,
    T0,
    alerts_of,
    detect,
    identity,
    signin,
    signin_history,
)

pytestmark = pytest.mark.django_db


def _signin_policy(**parameters):
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    return policy_update(policy=policy, actor=None, parameters=parameters)


def test_impossible_travel_fires_on_seattle_then_moscow_within_the_hour():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE), signin(megan, T0 + timedelta(minutes=50), MOSCOW, ip="95.173.136.12")])
    [alert] = alerts_of("suspicious_signin")
    travel = alert.evidence["impossible_travel"][0]
    assert travel["distance_km"] > 8000 and travel["speed_kmh"] > 800 and travel["minutes"] == 50
    assert "Seattle, US" in alert.description and "Moscow, RU 50 minutes later" in alert.description
    assert alert.identity == megan and alert.severity == "medium"


def test_traveller_with_plausible_flight_times_stays_quiet():
    christie = identity("christie.cline")
    signin_history(christie)
    # Seattle in the morning, New York ten hours later (3,900 km at under 400 km/h), London the next day.
    detect(
        [
            signin(christie, T0, SEATTLE),
            signin(christie, T0 + timedelta(hours=10), NEW_YORK, ip="23.94.12.7"),
            signin(christie, T0 + timedelta(hours=10 + 8), LONDON, ip="81.2.69.142"),
        ]
    )
    travel = [a for a in alerts_of("suspicious_signin") if "impossible_travel" in a.evidence]
    assert travel == []


def test_travel_parameters_come_from_the_policy():
    christie = identity("christie.cline")
    signin_history(christie)
    _signin_policy(travel_max_kmh=300, check_new_country=False)
    detect([signin(christie, T0, SEATTLE), signin(christie, T0 + timedelta(hours=10), NEW_YORK, ip="23.94.12.7")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["impossible_travel"][0]["max_kmh"] == 300


def test_same_signin_from_two_sources_is_not_travel():
    megan = identity()
    signin_history(megan)
    # The audit log geolocates the IP to London, Graph reports Seattle: same IP, same moment.
    detect([signin(megan, T0, SEATTLE, ip="20.190.151.10"), signin(megan, T0, LONDON, ip="20.190.151.10")])
    assert [a for a in alerts_of("suspicious_signin") if "impossible_travel" in a.evidence] == []


def test_new_country_fires_once_the_user_has_history():
    megan = identity()
    signin_history(megan, days=10)
    detect([signin(megan, T0 + timedelta(days=3), LAGOS, ip="102.89.32.18")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["new_country"][0]["country"] == "NG"
    assert alert.evidence["new_country"][0]["known_countries"] == ["US"]
    assert "a country never seen for this user (known: US)" in alert.description


def test_first_ever_signins_are_not_new_countries():
    megan = identity()
    detect([signin(megan, T0, SEATTLE), signin(megan, T0 + timedelta(days=1), LONDON, ip="81.2.69.142")])
    assert alerts_of("suspicious_signin") == []


def test_a_known_country_stays_quiet():
    megan = identity()
    signin_history(megan, place=LONDON, ip="81.2.69.142")
    detect([signin(megan, T0 + timedelta(days=2), LONDON, ip="81.2.69.200")])
    assert alerts_of("suspicious_signin") == []


def test_backfill_is_judged_as_it_happened():
    """Last month's logs arrive after this month's: a country seen only later was new back then."""
    megan = identity()
    signin_history(megan, days=30, end=T0)
    detect([signin(megan, T0 + timedelta(days=1), LAGOS, ip="102.89.32.18")])  # judged: new
    assert len(alerts_of("suspicious_signin")) == 1
    # Backfill: a Lagos sign-in 10 days *before*, which was the first Lagos sign-in when it happened.
    detect([signin(megan, T0 - timedelta(days=10, hours=3), LAGOS, ip="102.89.32.19")])
    alerts = alerts_of("suspicious_signin")
    assert len(alerts) == 2
    assert alerts[1].first_activity_at == T0 - timedelta(days=10, hours=3)
    # …and Lagos ten days ago makes a later Lagos sign-in familiar.
    detect([signin(megan, T0 + timedelta(days=1, hours=2), LAGOS, ip="102.89.32.20")])
    assert len(alerts_of("suspicious_signin")) == 2


def test_risky_signin_as_the_source_reports_it_fires():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE, risk_level="high", risk_state="atRisk")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["source_risk"][0]["levels"] == {"during_signin": "high"}
    assert "rated high risk" in alert.description


def test_anonymiser_detection_counts_whatever_the_level():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE, risk_level="low", risk_event_types=["anonymizedIPAddress"])])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["source_risk"][0]["risk_event_types"] == ["anonymizedIPAddress"]


def test_dismissed_or_low_risk_stays_quiet():
    megan = identity()
    signin_history(megan)
    detect(
        [
            signin(megan, T0, SEATTLE, risk_level="high", risk_state="dismissed"),
            signin(megan, T0 + timedelta(hours=1), SEATTLE, risk_level="low", risk_state="atRisk"),
        ]
    )
    assert alerts_of("suspicious_signin") == []


def test_failed_risky_signin_counts_only_when_asked():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE, succeeded=False, risk_level="high", risk_state="atRisk")])
    assert alerts_of("suspicious_signin") == []
    _signin_policy(risk_include_failed=True)
    detect([signin(megan, T0 + timedelta(hours=1), SEATTLE, succeeded=False, risk_level="high", risk_state="atRisk")])
    [alert] = alerts_of("suspicious_signin")
    assert "failed" in alert.description


def _spray(at, ip, accounts, *, domain="contoso.com"):
    return [
        signin(identity(f"user{n}", domain), at + timedelta(seconds=20 * n), MOSCOW, ip=ip, succeeded=False)
        for n in range(accounts)
    ]


def test_password_spray_then_success_fires_on_the_account_that_got_in():
    lee = identity("lee.gu")
    signin_history(lee)
    failures = _spray(T0, "95.173.136.77", 12)
    success = signin(lee, T0 + timedelta(minutes=11), MOSCOW, ip="95.173.136.77")
    detect([*failures, success])
    [alert] = [a for a in alerts_of("suspicious_signin") if "spray" in a.evidence]
    assert alert.identity == lee
    assert (
        alert.evidence["spray"][0] | {"accounts": 12, "failures": 12, "ip": "95.173.136.77"}
        == alert.evidence["spray"][0]
    )
    assert set(alert.events.values_list("pk", flat=True)) >= {success.pk, *(f.pk for f in failures)}


def test_spray_is_found_when_the_failures_arrive_after_the_success():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([signin(lee, T0 + timedelta(minutes=11), MOSCOW, ip="95.173.136.77")])
    assert [a for a in alerts_of("suspicious_signin") if "spray" in a.evidence] == []
    detect(_spray(T0, "95.173.136.77", 12))
    assert [a.identity for a in alerts_of("suspicious_signin") if "spray" in a.evidence] == [lee]


def test_failures_below_the_account_threshold_or_outside_the_window_stay_quiet():
    lee = identity("lee.gu")
    signin_history(lee)
    few = _spray(T0, "95.173.136.77", 9)
    late = signin(lee, T0 + timedelta(minutes=45), MOSCOW, ip="95.173.136.77")
    detect([*few, late])
    assert [a for a in alerts_of("suspicious_signin") if "spray" in a.evidence] == []


def test_failures_from_the_users_own_office_network_are_not_a_spray():
    """Monday morning: many users mistype their new password behind the office NAT, then succeed."""
    lee = identity("lee.gu")
    signin_history(lee, ip="20.190.151.10")
    failures = [
        signin(identity(f"user{n}"), T0 + timedelta(seconds=30 * n), SEATTLE, ip="20.190.151.10", succeeded=False)
        for n in range(15)
    ]
    detect([*failures, signin(lee, T0 + timedelta(minutes=9), SEATTLE, ip="20.190.151.10")])
    assert alerts_of("suspicious_signin") == []


def test_legacy_protocol_signin_fires_and_modern_client_stays_quiet():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE, client_app="Browser")])
    assert alerts_of("suspicious_signin") == []
    detect([signin(megan, T0 + timedelta(hours=1), SEATTLE, client_app="Authenticated SMTP")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["legacy"][0]["client_app"] == "Authenticated SMTP"
    assert "legacy protocol" in alert.title


def test_ropc_user_agent_counts_as_legacy():
    megan = identity()
    signin_history(megan)
    event = signin(megan, T0, SEATTLE, client_app="Mobile Apps and Desktop clients")
    event.user_agent = "BAV2ROPC"
    event.save()
    detect([event])
    assert len(alerts_of("suspicious_signin")) == 1


def test_signals_of_one_identity_fold_into_one_alert_with_every_reason():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE)])
    detect([signin(megan, T0 + timedelta(minutes=30), LAGOS, ip="102.89.32.18", risk_level="medium")])
    detect([signin(megan, T0 + timedelta(hours=2), LAGOS, ip="102.89.32.18", client_app="IMAP4")])
    [alert] = alerts_of("suspicious_signin")
    assert alert.title == "Suspicious sign-in: impossible travel, risky sign-in, new country, legacy protocol"
    assert {"impossible_travel", "new_country", "source_risk", "legacy"} <= set(alert.evidence)
    assert alert.event_count == alert.events.count() == 3


def test_disabled_policy_raises_nothing():
    megan = identity()
    signin_history(megan)
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    policy_update(policy=policy, actor=None, enabled=False)
    detect([signin(megan, T0, SEATTLE, risk_level="high")])
    assert alerts_of("suspicious_signin") == []


def test_impossible_travel_in_a_backfill_of_last_week_is_found():
    """Recent sign-ins are judged from the baseline; a backfill older than it reads the events."""
    megan = identity()
    signin_history(megan, days=3)
    detect([signin(megan, T0, SEATTLE)])
    week_ago = T0 - timedelta(days=7)
    detect([signin(megan, week_ago, SEATTLE), signin(megan, week_ago + timedelta(hours=1), MOSCOW, ip="95.173.136.12")])
    [alert] = [a for a in alerts_of("suspicious_signin") if "impossible_travel" in a.evidence]
    assert alert.first_activity_at == week_ago


def test_travel_pairs_a_new_signin_with_one_remembered_from_an_earlier_batch():
    megan = identity()
    signin_history(megan)
    detect([signin(megan, T0, SEATTLE)])
    moscow = signin(megan, T0 + timedelta(minutes=50), MOSCOW, ip="95.173.136.12")
    detect([moscow])
    [alert] = alerts_of("suspicious_signin")
    assert alert.evidence["impossible_travel"][0]["from"]["city"] == "Seattle"
    assert alert.event_count == 2

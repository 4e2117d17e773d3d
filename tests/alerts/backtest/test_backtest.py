"""Policy back-test against a hand-counted week, and agreement with what live detection raised.

The fixture (days 0 … 9 after ``START``) holds, per detector, activity whose alerts were counted by
hand for the current and for the proposed parameters. Live detection runs over the same events
first, so the back-test of the current parameters must also match what was really raised.
"""

from datetime import timedelta

import pytest

from airportal.errors import DomainError
from alerts.backtest import policy_backtest
from alerts.models import AlertPolicy, Event
from tests.alerts.support.detection import LAGOS, MOSCOW, SEATTLE, T0, detect, identity, mail, rule_event, signin
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

START = T0  # Monday 2026-03-02 09:00 UTC
NOW = START + timedelta(days=10)
DAYS = 10


def _at(day, hour=10, minute=0):
    return START.replace(hour=hour, minute=minute) + timedelta(days=day)


def _series(counts: dict[int, int]) -> list[int]:
    """The expected list over the back-test's days (NOW - DAYS .. NOW, inclusive)."""
    return [counts.get(day, 0) for day in range(DAYS + 1)]


def _policy(detector):
    return AlertPolicy.objects.get(detector=detector)


def test_inbox_rule_backtest_matches_the_hand_count():
    a, b = identity("a"), identity("b")
    hiding = {"name": "..", "move_to_folder": "RSS Feeds", "subject_contains_words": ["invoice"], "mark_as_read": True}
    mild = {"name": "tidy", "move_to_folder": "Archive", "forward_to": ["boss@contoso.com"]}  # score 3
    events = [
        rule_event(a, _at(1, 10), hiding),  # day 1: alert 1
        rule_event(a, _at(1, 15), {**hiding, "name": "..."}),  # folds into alert 1
        rule_event(a, _at(3, 10), hiding),  # day 3: 48 h later, alert 2
        rule_event(b, _at(2, 12), mild),  # day 2: alert 3 (score 3), not at min_score 4
    ]
    for event in events:
        detect([event])
    result = policy_backtest(policy=_policy("suspicious_inbox_rule"), parameters={"min_score": 4}, days=DAYS, now=NOW)
    assert result.current == _series({1: 1, 2: 1, 3: 1})
    assert result.proposed == _series({1: 1, 3: 1})
    assert result.raised == result.current
    assert (result.current_total, result.proposed_total) == (3, 2)


def test_a_users_own_hiding_rule_alerts_only_when_intent_is_not_required():
    newsletters = {"name": "Newsletters", "move_to_folder": "Archive", "mark_as_read": True, "from": ["news@shop.com"]}
    detect([rule_event(identity("a"), _at(2, 9), newsletters)])  # score 3: hiding, no intent
    loose = {"require_intent": False}
    result = policy_backtest(policy=_policy("suspicious_inbox_rule"), parameters=loose, days=DAYS, now=NOW)
    assert result.current == _series({})
    assert result.proposed == _series({2: 1})


def _signin_week():
    c, others = identity("c"), [identity(f"sprayed{n}") for n in range(12)]
    for day in range(-10, DAYS):  # home every morning at 08:00, judged as it arrives
        detect([signin(c, _at(day, 8), SEATTLE)])
    days = {
        1: [signin(c, _at(1, 9), MOSCOW, ip="95.173.136.12")],  # travel from 08:00 Seattle + new country RU
        3: [signin(c, _at(3, 9, 30), LAGOS, ip="102.89.32.18")],  # travel + new country NG
        5: [signin(c, _at(5, 12), SEATTLE, client_app="IMAP4")],  # legacy, > 24 h after day 3
    }
    spray = [signin(who, _at(7, 11, n), SEATTLE, ip="185.220.101.77", succeeded=False) for n, who in enumerate(others)]
    success = signin(c, _at(7, 11, 15), SEATTLE, ip="185.220.101.77", risk_level="high")
    days[7] = [*spray, success]  # spray then success (and risky), > 24 h after day 5
    for events in days.values():
        detect(events)


def test_signin_backtest_matches_the_hand_count():
    _signin_week()
    # Current: day 1 (travel, new RU), day 3 (travel, new NG), day 5 (legacy), day 7 (spray, risky).
    # Proposed without travel and legacy: day 1 and day 3 (new countries), day 7.
    proposed = {"check_impossible_travel": False, "check_legacy_protocols": False}
    result = policy_backtest(policy=_policy("suspicious_signin"), parameters=proposed, days=DAYS, now=NOW)
    assert result.current == _series({1: 1, 3: 1, 5: 1, 7: 1})
    assert result.proposed == _series({1: 1, 3: 1, 7: 1})
    assert result.raised == result.current


def test_a_sign_in_conditional_access_blocked_counts_as_no_access_in_the_backtest_as_live():
    _signin_week()
    # Day 9: a legacy-protocol sign-in from a new country with the right password, which
    # Conditional Access blocked: nobody got in, so live detection raises nothing for it.
    blocked = signin(
        identity("c"), _at(9, 12), MOSCOW, ip="95.173.136.12", client_app="IMAP4", conditional_access_status="failure"
    )
    detect([blocked])
    result = policy_backtest(policy=_policy("suspicious_signin"), parameters={}, days=DAYS, now=NOW)
    assert result.current == _series({1: 1, 3: 1, 5: 1, 7: 1})
    assert result.raised == result.current


def test_spray_threshold_changes_the_spray_count_only():
    _signin_week()
    only_spray = {
        "check_impossible_travel": False,
        "check_new_country": False,
        "check_legacy_protocols": False,
        "check_source_risk": False,
    }
    result = policy_backtest(policy=_policy("suspicious_signin"), parameters=only_spray, days=DAYS, now=NOW)
    assert result.proposed == _series({7: 1})
    stricter = policy_backtest(
        policy=_policy("suspicious_signin"), parameters={**only_spray, "spray_min_accounts": 13}, days=DAYS, now=NOW
    )
    assert stricter.proposed == _series({})


def test_sending_backtests_match_the_hand_count():
    d, e = identity("d"), identity("e")
    for day in range(-14, 3):  # d: 12 internal recipients a day
        detect([mail(d, _at(day, 9 + h), [f"c{h}{i}@a.com" for i in range(3)]) for h in range(4)])
    burst = [mail(d, _at(3, 14, i), [f"x{i}_{n}@example.org" for n in range(40)]) for i in range(6)]  # 240 external
    limit = [mail(e, _at(5, 9, i), [f"y{i}_{n}@example.org" for n in range(101)]) for i in range(5)]  # 505 external
    detect(burst)
    detect(limit)
    sending = policy_backtest(
        policy=_policy("suspicious_email_sending"),
        parameters={"min_recipients": 1000, "min_external_recipients": 1000},
        days=DAYS,
        now=NOW,
    )
    assert sending.current == _series({3: 1}) == sending.raised  # e has no history yet: not judged
    assert sending.proposed == _series({})
    limits = policy_backtest(
        policy=_policy("sending_limit_exceeded"), parameters={"external_per_hour": 600}, days=DAYS, now=NOW
    )
    assert limits.current == _series({5: 1}) == limits.raised
    assert limits.proposed == _series({})


def test_external_alerts_are_counted_per_source_alert():
    alex = identity("alex")
    for n, (day, severity) in enumerate([(1, "high"), (1, "low"), (4, "informational")]):
        EventFactory(
            identity=alex,
            occurred_at=_at(day, 9 + n),
            kind=Event.Kind.EXTERNAL_ALERT,
            source="graph-alerts",
            attributes={"title": "x", "severity": severity, "status": "new", "alert_id": f"a{n}"},
        )
    result = policy_backtest(
        policy=_policy("external_alert"), parameters={"min_severity": "medium"}, days=DAYS, now=NOW
    )
    assert result.current == _series({1: 2})
    assert result.proposed == _series({1: 1})


def test_invalid_proposed_parameters_are_refused():
    with pytest.raises(DomainError, match="must be at least 1"):
        policy_backtest(policy=_policy("suspicious_inbox_rule"), parameters={"min_score": 0}, now=NOW)


def test_mfa_backtest_matches_the_hand_count():
    lee = identity("lee")
    for day in range(-10, DAYS):
        detect([signin(lee, _at(day, 8), SEATTLE)])
    mfa = Event.Kind.MFA_METHOD_CHANGED
    detect([signin(lee, _at(2, 9), SEATTLE, risk_level="high", risk_state="atRisk")])
    for day, hour, attributes in [(2, 10, {}), (4, 10, {}), (6, 10, {"methods_before": [6], "methods_after": []})]:
        change = EventFactory(
            identity=lee,
            occurred_at=_at(day, hour),
            kind=mfa,
            source="o365-audit",
            ip="20.190.151.10",  # the user's own network
            attributes=attributes,
        )
        detect([change])
    # Current: day 2 (an hour after a high-risk sign-in), day 6 (every method removed); day 4 quiet.
    result = policy_backtest(
        policy=_policy("mfa_method_changed"), parameters={"alert_on_removal": False}, days=DAYS, now=NOW
    )
    assert result.current == _series({2: 1, 6: 1}) == result.raised
    assert result.proposed == _series({2: 1})

"""The verdict model: which rule each verdict meets, what it proposes, and late evidence."""

from datetime import timedelta

import pytest

from alerts.pipeline import events_ingested
from investigations.models import Finding, Investigation
from investigations.playbooks.context import CheckResult
from investigations.playbooks.verdict import verdict_of
from tests.investigations.support import (
    ATTACKER_IP,
    LAGOS,
    T0,
    bec_attack,
    home_history,
    identity,
    investigate,
    permission_event,
    rule_event,
    signin,
)

V = Finding.Verdict
IV = Investigation.Verdict
R = Investigation.VerdictRule
HIGH_IMPACT = {"disable_account", "reset_password", "soft_delete_messages"}


def result(key, verdict=V.CLEAN, weight=40) -> CheckResult:
    return CheckResult(key=key, title=key, verdict=verdict, weight=weight)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([result("microsoft", V.MALICIOUS, 60)], (IV.COMPROMISED, R.MICROSOFT_CONFIRMED)),
        (
            [result("signins.new_country", V.SUSPICIOUS), result("inbox_rules", V.MALICIOUS, 50)],
            (IV.COMPROMISED, R.ACCESS_AND_INTRUDER_ACTION),
        ),
        # Two strong sign-in signals are still only access: nothing says someone else acted.
        (
            [result("signins.risky_ip", V.MALICIOUS, 45), result("signins.spray_then_success", V.MALICIOUS, 50)],
            (IV.SUSPICIOUS, R.STRONG_SIGNAL),
        ),
        # An intruder's kind of action with an ordinary sign-in: the user may have done it.
        ([result("forwarding", V.MALICIOUS, 50)], (IV.SUSPICIOUS, R.STRONG_SIGNAL)),
        # Bulk sending is not an intruder action on its own, even after a risky sign-in.
        (
            [result("signins.risky_ip", V.SUSPICIOUS), result("sending.volume", V.MALICIOUS, 35)],
            (IV.SUSPICIOUS, R.STRONG_SIGNAL),
        ),
        ([result("signins.new_country", V.SUSPICIOUS, 40)], (IV.SUSPICIOUS, R.SEVERAL_SIGNALS)),
        ([result("signins.legacy_protocol", V.SUSPICIOUS, 20)], (IV.CLEAN, R.NO_STRONG_SIGNAL)),
        ([result("inbox_rules"), result("signins.new_country")], (IV.CLEAN, R.NO_STRONG_SIGNAL)),
    ],
)
def test_each_verdict_names_the_rule_it_met(results, expected):
    judged = verdict_of(results)
    assert (judged.verdict, judged.rule) == expected


@pytest.mark.django_db
def test_the_bec_victim_is_compromised_by_access_and_intruder_action(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    assert (investigation.verdict, investigation.verdict_rule) == (IV.COMPROMISED, R.ACCESS_AND_INTRUDER_ACTION)
    assert "rule: an anomalous sign-in and an action only an intruder takes" in investigation.summary
    assert set(investigation.actions.values_list("kind", flat=True)) >= HIGH_IMPACT


@pytest.mark.django_db
def test_a_risky_sign_in_alone_proposes_no_high_impact_action(django_capture_on_commit_callbacks):
    lee = identity("lee.gu")
    home_history(lee)
    signin(lee, T0, LAGOS, ip=ATTACKER_IP, risk_level="high", risk_event_types=["maliciousIPAddress"])
    investigation = investigate(lee, django_capture_on_commit_callbacks)
    assert (investigation.verdict, investigation.verdict_rule) == (IV.SUSPICIOUS, R.STRONG_SIGNAL)
    kinds = set(investigation.actions.values_list("kind", flat=True))
    assert kinds == {"revoke_sessions"} and not kinds & HIGH_IMPACT


@pytest.mark.django_db
def test_the_api_names_the_verdict_rule(client, analyst, bearer, django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigate(megan, django_capture_on_commit_callbacks)
    body = client.get(f"/api/v1/investigations/?user={megan.upn}", **bearer(analyst)).json()
    assert body["results"][0]["verdict_rule"] == "access_and_intruder_action"


@pytest.mark.django_db
def test_late_evidence_inside_the_window_runs_the_playbook_again(django_capture_on_commit_callbacks):
    diego = identity("diego")
    home_history(diego)
    signin(diego, T0, LAGOS, ip=ATTACKER_IP, risk_level="medium", risk_event_types=["unfamiliarFeatures"])
    investigation = investigate(diego, django_capture_on_commit_callbacks)
    assert investigation.verdict == IV.SUSPICIOUS
    # The audit record of what the intruder did arrives hours later, with no alert of its own.
    late = permission_event(diego, T0 + timedelta(minutes=12), delegate="mirror@tutanota.com", actor=diego.upn)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingested(event_ids=[late.pk])  # judged after commit, then the playbook runs again
    investigation.refresh_from_db()
    assert investigation.run_count == 2
    assert (investigation.verdict, investigation.verdict_rule) == (IV.COMPROMISED, R.ACCESS_AND_INTRUDER_ACTION)


@pytest.mark.django_db
def test_late_evidence_reopens_an_investigation_closed_as_clean(django_capture_on_commit_callbacks):
    ada = identity("ada")
    home_history(ada)
    investigation = investigate(ada, django_capture_on_commit_callbacks)
    assert investigation.status == Investigation.Status.NO_THREATS_FOUND
    # A record inside the window that raises no alert of its own (a rule moving mail to a folder).
    late = rule_event(ada, T0 + timedelta(minutes=5), {"name": "Tidy", "move_to_folder": "Projects"})
    with django_capture_on_commit_callbacks(execute=True):
        events_ingested(event_ids=[late.pk])
    investigation.refresh_from_db()
    assert investigation.run_count == 2 and investigation.status == Investigation.Status.NO_THREATS_FOUND
    assert any("reopened" in step.message for step in investigation.steps.all())


@pytest.mark.django_db
def test_evidence_outside_every_window_reopens_nothing(django_capture_on_commit_callbacks):
    ada = identity("ada")
    home_history(ada)
    investigation = investigate(ada, django_capture_on_commit_callbacks)
    late = rule_event(ada, T0 + timedelta(days=5), {"name": "Tidy", "move_to_folder": "Projects"})
    with django_capture_on_commit_callbacks(execute=True):
        events_ingested(event_ids=[late.pk])
    investigation.refresh_from_db()
    assert investigation.run_count == 1

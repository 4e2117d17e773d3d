"""The compromised-user playbook on built scenarios: findings, verdict, summary, proposals, status."""

from datetime import timedelta

import pytest

from alerts.models import Event
from investigations.models import Action, Finding, Investigation
from investigations.playbooks import compromised_user
from investigations.playbooks.checks import CHECKS
from investigations.playbooks.context import check
from tests.investigations.support import (
    ATTACKER_IP,
    MOSCOW,
    SEATTLE,
    T0,
    bec_attack,
    forwarding_event,
    home_history,
    identity,
    investigate,
    mail,
    permission_event,
    rule_event,
    signin,
)

pytestmark = pytest.mark.django_db
S = Investigation.Status
V = Finding.Verdict


def findings(investigation):
    return {f.check_key: f for f in investigation.findings.all()}


def test_bec_attack_is_found_compromised_with_evidence_and_proposals(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert investigation.status == S.PENDING_ACTION
    assert investigation.verdict == Investigation.Verdict.COMPROMISED
    assert investigation.risk_score >= 60
    found = findings(investigation)
    assert found["signins.risky_ip"].verdict == V.MALICIOUS
    assert found["signins.new_country"].verdict == V.SUSPICIOUS
    assert found["inbox_rules"].verdict == V.MALICIOUS
    assert "RSS Feeds" in found["inbox_rules"].explanation
    assert found["forwarding"].verdict == V.MALICIOUS
    assert found["sending.one_subject_to_many"].verdict == V.MALICIOUS
    assert found["mfa"].verdict == V.CLEAN
    risky = found["signins.risky_ip"]
    assert list(risky.events.values_list("ip", flat=True)) == [ATTACKER_IP]
    assert "megan.bowen@contoso.com appears compromised" in investigation.summary
    assert "megan.finance@gmail.com" in investigation.summary
    proposed = set(investigation.actions.values_list("kind", "target"))
    assert proposed == {
        ("revoke_sessions", megan.upn),
        ("reset_password", megan.upn),
        ("disable_account", megan.upn),
        ("remove_inbox_rule", ".."),
        ("disable_mailbox_forwarding", "megan.finance@gmail.com"),
        ("restrict_sending", megan.upn),
        ("soft_delete_messages", "Updated remittance details (5 internal recipients)"),
    }
    assert set(investigation.actions.values_list("status", flat=True)) == {Action.Status.PENDING_APPROVAL}
    rule_action = investigation.actions.get(kind="remove_inbox_rule")
    assert rule_action.finding.check_key == "inbox_rules"
    assert (rule_action.parameters["mailbox"], rule_action.parameters["rule"]) == (megan.upn, "..")
    assert rule_action.parameters["rule_settings"]["subject_or_body_contains_words"] == ["invoice", "payment"]


def test_ordinary_week_finds_no_threats_and_proposes_nothing(django_capture_on_commit_callbacks):
    adele = identity("adele.vance")
    home_history(adele, days=10, end=T0 + timedelta(days=1))
    investigation = investigate(adele, django_capture_on_commit_callbacks)

    assert investigation.status == S.NO_THREATS_FOUND
    assert investigation.verdict == Investigation.Verdict.CLEAN
    assert investigation.risk_score == 0
    assert not investigation.actions.exists()
    assert {f.verdict for f in investigation.findings.all()} == {V.CLEAN}
    assert investigation.summary.startswith("No sign of compromise for adele.vance@contoso.com")
    assert investigation.finished_at is not None


def test_internal_forwarding_rule_is_not_a_threat(django_capture_on_commit_callbacks):
    johanna = identity("johanna.lorenz")
    home_history(johanna)
    rule_event(johanna, T0, {"name": "Build failures to Lidia", "forward_to": ["lidia.holloway@contoso.com"]})
    investigation = investigate(johanna, django_capture_on_commit_callbacks)

    assert findings(investigation)["inbox_rules"].verdict == V.CLEAN
    assert investigation.status == S.NO_THREATS_FOUND


def test_impossible_travel_and_self_granted_delegation(django_capture_on_commit_callbacks):
    diego, debra = identity("diego.siciliani"), identity("debra.berger")
    home_history(diego)
    signin(diego, T0, SEATTLE)
    signin(diego, T0 + timedelta(minutes=50), MOSCOW, ip="95.173.136.12")
    permission_event(debra, T0 + timedelta(minutes=58), delegate=diego.upn, actor=diego.upn)
    investigation = investigate(diego, django_capture_on_commit_callbacks)

    found = findings(investigation)
    assert found["signins.impossible_travel"].verdict == V.SUSPICIOUS
    assert "50 minutes later" in found["signins.impossible_travel"].explanation
    assert found["permissions"].verdict == V.MALICIOUS
    assert "gave itself FullAccess on debra.berger@contoso.com" in found["permissions"].explanation
    action = investigation.actions.get(kind="remove_mailbox_permission")
    assert action.parameters == {"mailbox": debra.upn, "delegate": diego.upn, "access_rights": ["FullAccess"]}


def test_admin_delegating_an_assistant_is_ordinary(django_capture_on_commit_callbacks):
    patti, allan = identity("patti.fernandez"), identity("allan.deyoung")
    home_history(patti)
    permission_event(patti, T0, delegate="joni.sherman@contoso.com", actor=allan.upn)
    investigation = investigate(patti, django_capture_on_commit_callbacks)

    assert findings(investigation)["permissions"].verdict == V.CLEAN
    assert investigation.status == S.NO_THREATS_FOUND


def test_spray_then_success_then_mfa_change(django_capture_on_commit_callbacks):
    lee = identity("lee.gu")
    home_history(lee)
    spray_ip = "95.173.136.77"
    for n in range(6):
        signin(identity(f"sprayed{n}"), T0 - timedelta(minutes=10), MOSCOW, ip=spray_ip, succeeded=False)
    signin(lee, T0, MOSCOW, ip=spray_ip, authentication_requirement="singleFactorAuthentication")
    Event.objects.create(
        identity=lee,
        occurred_at=T0 + timedelta(minutes=6),
        kind=Event.Kind.MFA_METHOD_CHANGED,
        operation="User registered security info.",
        source="o365-audit",
        source_record_id="mfa-1",
    )
    investigation = investigate(lee, django_capture_on_commit_callbacks)

    found = findings(investigation)
    assert found["signins.spray_then_success"].verdict == V.MALICIOUS
    assert "failed to sign in to 6 accounts" in found["signins.spray_then_success"].explanation
    assert found["signins.single_factor"].verdict == V.SUSPICIOUS
    assert found["mfa"].verdict == V.MALICIOUS
    assert "6 minutes after" in found["mfa"].explanation
    assert investigation.verdict == Investigation.Verdict.COMPROMISED


def test_a_newsletter_mailbox_is_judged_against_its_own_baseline(django_capture_on_commit_callbacks):
    news = identity("news")
    for day in range(10, 0, -1):
        at = T0 - timedelta(days=day)
        signin(news, at)
        mail(news, at, [f"customer{i}@example.org" for i in range(30)], "Contoso weekly deals")
    investigation = investigate(news, django_capture_on_commit_callbacks)

    # 30 recipients of one subject each day is this mailbox's normal: under the spray floor.
    assert findings(investigation)["sending.one_subject_to_many"].verdict == V.CLEAN
    assert investigation.status == S.NO_THREATS_FOUND


def test_a_failing_check_fails_the_run_but_keeps_the_other_findings(django_capture_on_commit_callbacks, monkeypatch):
    @check("broken", "A check that breaks")
    def broken(ctx, result):
        raise ValueError("unreadable record")

    monkeypatch.setattr(compromised_user, "CHECKS", [*CHECKS, broken])
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert investigation.status == S.FAILED
    found = findings(investigation)
    assert found["broken"].verdict == V.ERROR
    assert "ValueError: unreadable record" in found["broken"].explanation
    assert found["forwarding"].verdict == V.MALICIOUS  # the others still count
    assert investigation.verdict == Investigation.Verdict.COMPROMISED
    assert "check failed" in investigation.summary
    assert investigation.steps.filter(level="error", message__contains="A check that breaks").exists()


def test_rerun_updates_findings_in_place_and_never_proposes_twice(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    first_ids = dict(investigation.findings.values_list("check_key", "id"))
    actions_before = investigation.actions.count()
    forwarding_event(megan, T0 + timedelta(minutes=50), ["other.drop@gmail.com"])

    second = investigate(megan, django_capture_on_commit_callbacks, detector="external_forwarding")

    assert second.pk == investigation.pk
    assert second.run_count == 2
    assert dict(second.findings.values_list("check_key", "id")) == first_ids
    assert second.actions.count() == actions_before + 1  # only the new forwarding address is new
    assert second.actions.filter(kind="disable_mailbox_forwarding", target="other.drop@gmail.com").exists()
    assert second.alerts.count() == 2


def _kit_signin(who, at, place, ip, agent="axios/1.6.8", **attributes):
    event = signin(who, at, place, ip=ip, **attributes)
    event.app, event.user_agent = "OfficeHome", agent
    event.save(update_fields=["app", "user_agent"])
    return event


def _registration(who, at):
    return Event.objects.create(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MFA_METHOD_CHANGED,
        operation="User registered security info.",
        source="o365-audit",
        source_record_id=f"mfa-{who.pk}-{at.timestamp()}",
    )


def test_an_aitm_kit_sign_in_then_a_new_authenticator_is_compromised(django_capture_on_commit_callbacks):
    """No Identity Protection risk at all: the kit's HTTP library and the registration after it say it."""
    lee = identity("lee.gu")
    home_history(lee)
    _kit_signin(lee, T0, SEATTLE, "167.99.10.79")
    _registration(lee, T0 + timedelta(minutes=12))
    investigation = investigate(lee, django_capture_on_commit_callbacks)

    found = findings(investigation)
    assert found["signins.mfa_bypass"].verdict == V.MALICIOUS
    assert "a phishing kit's client (1 sign-in, first from 167.99.10.79" in found["signins.mfa_bypass"].explanation
    assert found["mfa"].verdict == V.MALICIOUS
    assert investigation.verdict == Investigation.Verdict.COMPROMISED


def test_one_session_from_seattle_and_moscow_is_a_replayed_token(django_capture_on_commit_callbacks):
    megan = identity()
    home_history(megan)
    signin(megan, T0, SEATTLE, session_id="9f1c")
    signin(megan, T0 + timedelta(minutes=40), MOSCOW, ip="95.173.136.35", session_id="9f1c")
    investigation = investigate(megan, django_capture_on_commit_callbacks)

    bypass = findings(investigation)["signins.mfa_bypass"]
    assert bypass.verdict == V.MALICIOUS
    assert set(bypass.events.values_list("ip", flat=True)) == {"20.190.151.10", "95.173.136.35"}


def test_a_browser_and_a_session_kept_on_one_network_are_no_bypass(django_capture_on_commit_callbacks):
    megan = identity()
    home_history(megan)
    _kit_signin(megan, T0, SEATTLE, "20.190.151.10", agent="Mozilla/5.0 (Windows NT 10.0) Chrome/122.0", session_id="a")
    signin(megan, T0 + timedelta(hours=2), SEATTLE, ip="20.190.151.77", session_id="a")
    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert findings(investigation)["signins.mfa_bypass"].verdict == V.CLEAN

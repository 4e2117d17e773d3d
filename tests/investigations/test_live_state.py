"""The playbook judges the account as it is now (the simulated tenant's live read) with its logs."""

from datetime import timedelta

import pytest

from airportal.services import portal_settings_update
from alerts.pipeline import events_ingested
from demo.models import SimulatedInboxRule, SimulatedMailboxPermission
from demo.services import simulated_accounts_ensure, simulated_tenant_sync
from investigations.connectors.state import LiveState, StateKind
from investigations.models import Investigation
from investigations.services.actions import action_approve
from investigations.services.investigations import investigation_start
from tests.investigations.support import (
    ATTACKER_IP,
    LAGOS,
    T0,
    alert,
    bec_attack,
    home_history,
    identity,
    investigate,
    now,
    rule_event,
    signin,
)

pytestmark = pytest.mark.django_db
IV = Investigation.Verdict
HIDING_RULE = {"move_to_folder": "RSS Feeds", "mark_as_read": True, "subject_or_body_contains_words": ["invoice"]}


def risky_signin(who):
    home_history(who)
    signin(who, T0, LAGOS, ip=ATTACKER_IP, risk_level="high", risk_event_types=["anonymizedIPAddress"])


def account_of(who):
    return simulated_accounts_ensure([who.pk])[who.pk]


def hidden_rule(who, name="Sync"):
    """A hidden hiding rule set up 40 days before the attack, with no audit record."""
    return SimulatedInboxRule.objects.create(
        account=account_of(who), name=name, hidden=True, parameters=HIDING_RULE, created_at=T0 - timedelta(days=40)
    )


def finding(investigation, key):
    return investigation.findings.get(check_key=key)


def proposals(investigation) -> set[tuple[str, str]]:
    return set(investigation.actions.values_list("kind", "target"))


def test_forwarding_and_a_hidden_rule_older_than_the_window_are_findings_with_proposals(
    django_capture_on_commit_callbacks,
):
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    account = account_of(nestor)
    account.forwarding_address = "nestor.backup@gmail.com"
    account.save()
    hidden_rule(nestor)
    SimulatedMailboxPermission.objects.create(
        account=account,
        delegate="finance.help@outlook.com",
        access_rights="FullAccess",
        granted_at=T0 - timedelta(days=60),
    )

    investigation = investigate(nestor, django_capture_on_commit_callbacks)

    forwarding = finding(investigation, "forwarding")
    assert forwarding.verdict == "malicious" and forwarding.data["origin"] == "live"
    assert "nestor.backup@gmail.com" in forwarding.explanation
    assert "no record of it being set since" in forwarding.explanation
    rules = finding(investigation, "inbox_rules")
    assert rules.verdict == "malicious"
    assert rules.data["rules"][0] | {"reasons": None} == {
        "name": "Sync",
        "verdict": "malicious",
        "reasons": None,
        "event_id": None,
        "origin": "live",
        "in_place": True,
        "hidden": True,
    }
    assert "hidden from Outlook" in rules.explanation and "no record of its creation" in rules.explanation
    assert finding(investigation, "permissions").verdict == "malicious"
    assert {
        ("disable_mailbox_forwarding", "nestor.backup@gmail.com"),
        ("remove_inbox_rule", "Sync"),
        ("remove_mailbox_permission", "FullAccess of finance.help@outlook.com on nestor.wilke@contoso.com"),
    } <= proposals(investigation)
    # A live malicious persistence item is an intruder's action: with the risky sign-in, compromised.
    assert (investigation.verdict, investigation.verdict_rule) == (IV.COMPROMISED, "access_and_intruder_action")
    snapshot = LiveState.from_json(investigation.live_state)
    assert snapshot.source == "simulated" and snapshot.upn == nestor.upn
    assert {(item.kind, item.key, item.hidden) for item in snapshot.of_kind(StateKind.INBOX_RULE)} == {
        (StateKind.INBOX_RULE, "Sync", True)
    }
    assert StateKind.FOLDER_PERMISSION in snapshot.unread  # not kept by the simulated tenant: named, not empty


def test_a_removed_live_rule_stays_evidence_at_the_next_run_and_is_not_proposed_again(
    django_capture_on_commit_callbacks, analyst
):
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    hidden_rule(nestor)
    investigation = investigate(nestor, django_capture_on_commit_callbacks)
    action = investigation.actions.get(kind="remove_inbox_rule")
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action_id=action.pk, user=analyst, comment="hidden rule")
    action.refresh_from_db()
    assert action.status == "succeeded" and not SimulatedInboxRule.objects.filter(name="Sync").exists()
    actions_before = investigation.actions.count()

    with django_capture_on_commit_callbacks(execute=True):
        investigation_start(upn=nestor.upn, user=analyst, reason="check the tenant again")
    investigation.refresh_from_db()

    # The rule is gone, but what the first read found stays evidence: same verdict, nothing new proposed.
    assert investigation.run_count == 2 and investigation.actions.count() == actions_before
    rules = finding(investigation, "inbox_rules")
    assert rules.verdict == "malicious" and "(no longer in place)" in rules.explanation
    assert (rules.data["rules"][0]["origin"], rules.data["rules"][0]["in_place"]) == ("earlier", False)
    assert investigation.verdict == IV.COMPROMISED


def test_a_rule_the_logs_say_was_removed_but_is_still_there_is_flagged(django_capture_on_commit_callbacks):
    adele = identity("adele.vance")
    risky_signin(adele)
    rule_event(adele, T0 + timedelta(minutes=20), {"name": "Tidy", **HIDING_RULE})
    rule_event(adele, T0 + timedelta(minutes=30), {"name": "Tidy"}, kind="inbox_rule_removed")
    simulated_tenant_sync(identity_ids=[adele.pk])  # the tenant follows the logs: the rule is gone…
    SimulatedInboxRule.objects.create(  # …and comes back without a record (a MAPI client, a lost record)
        account=account_of(adele), name="Tidy", parameters=HIDING_RULE, created_at=T0 + timedelta(minutes=20)
    )

    investigation = investigate(adele, django_capture_on_commit_callbacks)

    disagreement = finding(investigation, "live_state")
    assert disagreement.verdict == "suspicious"
    assert disagreement.explanation.startswith(
        "The logs say inbox rule \u201cTidy\u201d was removed on 2026-03-11 at 22:30 UTC, but it is still there"
    )
    assert ("remove_inbox_rule", "Tidy") in proposals(investigation)


def test_a_rule_removed_in_the_logs_and_gone_from_the_tenant_agrees(django_capture_on_commit_callbacks):
    adele = identity("adele.vance")
    risky_signin(adele)
    rule_event(adele, T0 + timedelta(minutes=20), {"name": "Tidy", **HIDING_RULE})
    rule_event(adele, T0 + timedelta(minutes=30), {"name": "Tidy"}, kind="inbox_rule_removed")

    investigation = investigate(adele, django_capture_on_commit_callbacks)

    assert finding(investigation, "live_state").verdict == "clean"
    assert "agrees with the logs" in finding(investigation, "live_state").explanation
    assert ("remove_inbox_rule", "Tidy") not in proposals(investigation)


def test_without_a_connector_that_reads_the_playbook_says_live_state_was_not_read(
    settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTORS = {
        **settings.REMEDIATION_CONNECTORS,
        "offline": "investigations.connectors.base.Connector",  # the interface itself: it cannot read
    }
    settings.REMEDIATION_CONNECTOR = "offline"
    megan = identity()
    bec_attack(megan)

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    live = finding(investigation, "live_state")
    assert live.verdict == "clean" and "was not read" in live.explanation
    assert "cannot read it" in live.explanation
    assert "could not be read" in finding(investigation, "forwarding").explanation
    assert "could not be read" in finding(investigation, "inbox_rules").explanation
    snapshot = LiveState.from_json(investigation.live_state)
    assert snapshot.items == [] and set(snapshot.unread) == {*StateKind.ALL, "account"}
    assert investigation.steps.filter(message__startswith="Live state not read", level="warning").exists()
    # The logs alone still convict: nothing unread was taken for "nothing there".
    assert investigation.verdict == IV.COMPROMISED
    assert ("disable_mailbox_forwarding", "megan.finance@gmail.com") in proposals(investigation)


def test_the_look_back_setting_sets_where_the_log_window_starts(django_capture_on_commit_callbacks, admin_user):
    diego = identity("diego.siciliani")
    risky_signin(diego)
    first = investigate(diego, django_capture_on_commit_callbacks)
    assert first.window_start == T0 - timedelta(days=14)

    portal_settings_update(actor=admin_user, investigation_lookback_days=3)
    lee = identity("lee.gu")
    risky_signin(lee)
    second = investigate(lee, django_capture_on_commit_callbacks)
    assert second.window_start == T0 - timedelta(days=3)


def test_a_closed_investigation_older_than_seven_days_takes_no_late_evidence(django_capture_on_commit_callbacks):
    ada = identity("ada")
    home_history(ada)
    investigation = investigate(ada, django_capture_on_commit_callbacks)
    assert investigation.status == Investigation.Status.NO_THREATS_FOUND
    Investigation.objects.filter(pk=investigation.pk).update(finished_at=now() - timedelta(days=8))
    late = rule_event(ada, T0 + timedelta(minutes=5), {"name": "Tidy", "move_to_folder": "Projects"})
    with django_capture_on_commit_callbacks(execute=True):
        events_ingested(event_ids=[late.pk])
    investigation.refresh_from_db()
    assert investigation.run_count == 1 and investigation.status == Investigation.Status.NO_THREATS_FOUND


def test_a_late_record_inside_the_window_re_runs_and_is_judged_with_the_live_state(django_capture_on_commit_callbacks):
    diego = identity("diego")
    risky_signin(diego)
    investigation = investigate(diego, django_capture_on_commit_callbacks, at=T0)
    assert investigation.run_count == 1
    late = rule_event(diego, T0 + timedelta(minutes=12), {"name": "..", **HIDING_RULE})
    with django_capture_on_commit_callbacks(execute=True):
        events_ingested(event_ids=[late.pk])
    investigation.refresh_from_db()
    assert investigation.run_count == 2
    assert finding(investigation, "inbox_rules").data["rules"][0]["origin"] == "both"
    assert ("remove_inbox_rule", "..") in proposals(investigation)
    assert alert  # the builders raise the alert that opened it


def test_a_mail_consent_and_an_mfa_method_without_audit_records_are_judged_like_logged_ones(
    django_capture_on_commit_callbacks,
):
    from demo.models import SimulatedAppConsent, SimulatedAuthMethod

    lidia = identity("lidia.holloway")
    risky_signin(lidia)
    account = account_of(lidia)
    SimulatedAppConsent.objects.create(
        account=account,
        app_name="Mail Sync Pro",
        scopes="Mail.Read Mail.Send offline_access",
        granted_at=T0 - timedelta(days=30),
    )
    SimulatedAppConsent.objects.create(account=account, app_name="Calendar", scopes="Calendars.Read", granted_at=T0)
    SimulatedAuthMethod.objects.create(
        account=account,
        method_type="phoneAuthenticationMethod",
        name="+234 801",
        registered_at=T0 + timedelta(minutes=9),
    )
    SimulatedAuthMethod.objects.create(
        account=account,
        method_type="fido2AuthenticationMethod",
        name="YubiKey",
        registered_at=T0 - timedelta(days=300),
    )

    investigation = investigate(lidia, django_capture_on_commit_callbacks)

    consents = finding(investigation, "consents")
    assert consents.verdict == "malicious"  # offline_access + mail: it outlives a password reset
    assert "\u201cMail Sync Pro\u201d holds Mail.Read, Mail.Send on this mailbox now" in consents.explanation
    mfa = finding(investigation, "mfa")
    assert mfa.verdict == "malicious" and "9 minutes after" in mfa.explanation and "+234 801" in mfa.explanation
    noted = {item["name"]: item["verdict"] for item in finding(investigation, "live_state").data["items"]}
    assert noted["phone +234 801"] == "malicious" and noted["fido2 YubiKey"] == "clean"
    assert noted["Calendars.Read for app Calendar"] == "clean"
    # The live consent is proposed for revocation like a logged one; the ordinary one is not.
    assert ("revoke_app_consent", "Mail Sync Pro") in proposals(investigation)
    assert ("revoke_app_consent", "Calendar") not in proposals(investigation)


def test_live_forwarding_disabled_by_its_action_stays_evidence_at_the_next_run(
    django_capture_on_commit_callbacks, analyst
):
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    account = account_of(nestor)
    account.forwarding_address = "nestor.backup@gmail.com"
    account.save()
    investigation = investigate(nestor, django_capture_on_commit_callbacks)
    action = investigation.actions.get(kind="disable_mailbox_forwarding")
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action_id=action.pk, user=analyst, comment="outside")
    account.refresh_from_db()
    assert account.forwarding_address == ""
    actions_before = investigation.actions.count()

    with django_capture_on_commit_callbacks(execute=True):
        investigation_start(upn=nestor.upn, user=analyst, reason="check the tenant again")
    investigation.refresh_from_db()

    forwarding = finding(investigation, "forwarding")
    assert forwarding.verdict == "malicious" and forwarding.data["origin"] == "earlier"
    assert "as an earlier read of the mailbox found" in forwarding.explanation
    assert "no longer in place" in forwarding.explanation
    assert investigation.actions.count() == actions_before and investigation.verdict == IV.COMPROMISED

"""The demo tenant end to end: ingestion → detection → investigations with verdicts, actions and pivots."""

from datetime import UTC, datetime

import pytest

from alerts.models import Alert
from demo.models import SimulatedAccount
from demo.records import demo_records
from investigations.models import Investigation
from investigations.selectors.investigations import investigation_related_identities
from investigations.services.remediation import action_execute
from tests.pipeline import ingest_judged

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
NOW = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)


@pytest.fixture
def cases(django_capture_on_commit_callbacks):
    records = demo_records(now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        for source in ("entra-signins", "o365-audit", "message-trace", "graph-alerts"):
            ingest_judged(source=source, records=records[source])
    return {i.identity.upn.split("@")[0]: i for i in Investigation.objects.select_related("identity")}


def kinds(investigation) -> set[str]:
    return set(investigation.actions.values_list("kind", flat=True))


def test_each_attacked_user_has_one_investigation_and_the_twins_none(cases):
    assert set(cases) == {"megan.bowen", "lee.gu", "diego.siciliani", "alex.wilber"}


def test_the_kiosk_alert_is_in_the_queue_about_no_user(cases):
    alert = Alert.objects.get(identity__isnull=True)
    assert (alert.detector, alert.severity) == ("external_alert", "high")
    assert alert.title == "Suspicious PowerShell download cradle on kiosk-lobby-02.contoso.com"
    assert not alert.investigations.exists()


def test_the_bec_victim_is_compromised_and_every_undo_is_proposed(cases):
    megan = cases["megan.bowen"]
    assert (megan.status, megan.verdict) == ("pending_action", "compromised")
    assert kinds(megan) == {
        "revoke_sessions",
        "reset_password",
        "disable_account",
        "remove_inbox_rule",
        "disable_mailbox_forwarding",
        "restrict_sending",
        "soft_delete_messages",
    }
    assert "megan.bowen.finance@gmail.com" in megan.summary
    related = {r.identity.upn: r.reasons for r in investigation_related_identities(investigation=megan)}
    assert related["adele.vance@contoso.com"] == ("received the phishing mail",)


def test_the_sprayed_user_is_compromised_and_the_other_sprayed_accounts_are_related(cases):
    lee = cases["lee.gu"]
    assert lee.verdict == "compromised"
    assert kinds(lee) == {"revoke_sessions", "reset_password", "disable_account", "revoke_app_consent",
                          "remove_mfa_method"}  # fmt: skip
    consent = lee.actions.get(kind="revoke_app_consent")
    assert (consent.target, consent.finding.check_key) == ("Mail Sync Pro", "consents")
    assert lee.actions.get(kind="remove_mfa_method").requires_second_approval  # four-eyes by default
    checks = dict(lee.findings.values_list("check_key", "verdict"))
    assert checks["signins.spray_then_success"] == "malicious"
    assert checks["mfa"] == "malicious" and checks["consents"] == "malicious"
    related = investigation_related_identities(investigation=lee)
    assert len(related) == 17  # 18 sprayed accounts, lee.gu excluded
    assert all(r.reasons == ("was tried from 95.173.136.77",) for r in related)


def test_impossible_travel_user_loses_the_mailbox_it_granted_itself(cases):
    diego = cases["diego.siciliani"]
    assert diego.verdict == "compromised"
    action = diego.actions.get(kind="remove_mailbox_permission")
    assert action.parameters["mailbox"] == "debra.berger@contoso.com"


def test_an_external_alert_without_activity_behind_it_finds_no_threats(cases):
    alex = cases["alex.wilber"]
    assert (alex.status, alex.verdict) == ("no_threats_found", "clean")
    assert not alex.actions.exists()


def test_the_sprayed_users_consent_and_intruder_mfa_method_are_removed_from_the_simulated_tenant(cases, settings):
    settings.REMEDIATION_CONNECTOR = "simulated"
    lee = cases["lee.gu"]
    actions = lee.actions.filter(kind__in=["revoke_app_consent", "remove_mfa_method"])
    actions.update(status="approved")

    for action in actions:
        action_execute(action_id=action.pk)

    assert set(actions.values_list("status", flat=True)) == {"succeeded"}, list(actions.values_list("error", flat=True))
    account = SimulatedAccount.objects.get(identity=lee.identity)
    assert not account.app_consents.exists() and not account.auth_methods.exists()

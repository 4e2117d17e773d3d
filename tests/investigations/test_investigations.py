"""Investigation lifecycle: one open per identity, joining alerts, re-runs, manual start, terminate,
automation levels, pivots and the action SLA."""

from datetime import timedelta

import pytest
from django.utils import timezone

from airportal.errors import Conflict, DomainError
from alerts.models import AutomationLevel, Severity
from investigations.models import Action, Investigation
from investigations.playbooks import compromised_user
from investigations.selectors.actions import actions_pending
from investigations.selectors.investigations import investigation_related_identities
from investigations.services.investigations import (
    investigation_attach_alert,
    investigation_claim,
    investigation_record_run,
    investigation_start,
    investigation_terminate,
)
from tests.factories import InvestigationFactory
from tests.investigations.support import MOSCOW, T0, alert, bec_attack, home_history, identity, investigate, signin

pytestmark = pytest.mark.django_db
S = Investigation.Status
A = Action.Status


def test_alerts_of_one_identity_join_its_open_investigation(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    first = investigate(megan, django_capture_on_commit_callbacks)
    second = investigate(megan, django_capture_on_commit_callbacks, detector="external_forwarding")

    assert first.pk == second.pk
    assert Investigation.objects.filter(identity=megan).count() == 1
    assert second.alerts.count() == 2 and second.run_count == 2
    assert second.steps.filter(message__contains="joined; the playbook runs again").exists()


def test_an_informational_alert_never_opens_an_investigation(django_capture_on_commit_callbacks):
    megan = identity()
    info = alert(megan, severity=Severity.INFORMATIONAL)
    with django_capture_on_commit_callbacks(execute=True):
        assert investigation_attach_alert(alert_id=info.pk) is None
    assert not Investigation.objects.exists()


def test_an_informational_alert_joins_an_open_investigation(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    info = alert(megan, severity=Severity.INFORMATIONAL, detector="oauth_app_consent")
    with django_capture_on_commit_callbacks(execute=True):
        assert investigation_attach_alert(alert_id=info.pk) == investigation
    assert investigation.alerts.filter(pk=info.pk).exists()


def test_a_closed_investigation_is_not_reopened_by_a_new_alert(django_capture_on_commit_callbacks):
    adele = identity("adele.vance")
    home_history(adele)
    closed = investigate(adele, django_capture_on_commit_callbacks)
    assert closed.status == S.NO_THREATS_FOUND
    newer = investigate(adele, django_capture_on_commit_callbacks, detector="oauth_app_consent")
    assert newer.pk != closed.pk


def test_an_alert_arriving_during_a_run_makes_the_playbook_run_again(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    first_alert = alert(megan)
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_attach_alert(alert_id=first_alert.pk)
    running = investigation_claim(investigation_id=investigation.pk)
    outcome = compromised_user.run(running)
    with django_capture_on_commit_callbacks(execute=False):
        investigation_attach_alert(alert_id=alert(megan, detector="external_forwarding").pk)  # mid-run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        status = investigation_record_run(investigation_id=investigation.pk, outcome=outcome)

    investigation.refresh_from_db()
    assert status == S.QUEUED and investigation.status == S.QUEUED
    assert not investigation.rerun_requested
    assert len(callbacks) == 1  # the next run is queued
    assert investigation.findings.exists()  # this run's results are kept meanwhile


def test_a_second_worker_cannot_claim_a_running_investigation(django_capture_on_commit_callbacks):
    megan = identity()
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_attach_alert(alert_id=alert(megan).pk)
    assert investigation_claim(investigation_id=investigation.pk) is not None
    assert investigation_claim(investigation_id=investigation.pk) is None


# --- by hand ---------------------------------------------------------------------------------------


def test_an_analyst_starts_an_investigation_by_hand(analyst, django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan, at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        investigation, created = investigation_start(upn="Megan.Bowen@Contoso.com", user=analyst, reason="user call")
    investigation.refresh_from_db()
    assert created and investigation.started_by == analyst and investigation.reason == "user call"
    assert investigation.status == S.PENDING_ACTION  # the last 7 days were read: the attack is in them
    assert investigation.verdict == Investigation.Verdict.COMPROMISED


def test_starting_by_hand_when_one_is_open_reruns_it(analyst, django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    open_one = investigate(megan, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        investigation, created = investigation_start(upn=megan.upn, user=analyst, reason="again")
    assert not created and investigation.pk == open_one.pk
    open_one.refresh_from_db()
    assert open_one.run_count == 2


@pytest.mark.parametrize("upn", ["nobody@contoso.com", "", "not-an-upn"])
def test_starting_on_an_unknown_user_is_a_clear_error(analyst, upn):
    with pytest.raises(DomainError, match="monitored identity|user principal name"):
        investigation_start(upn=upn, user=analyst, reason="r")
    assert not Investigation.objects.exists()


# --- terminate -------------------------------------------------------------------------------------


def test_terminate_needs_a_reason(analyst):
    investigation = InvestigationFactory()
    with pytest.raises(DomainError, match="reason is required"):
        investigation_terminate(investigation_id=investigation.pk, user=analyst, reason=" ")
    investigation.refresh_from_db()
    assert investigation.status == S.QUEUED


def test_terminate_withdraws_pending_actions_but_keeps_approved_ones(analyst, django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    kept = investigation.actions.get(kind="restrict_sending")
    Action.objects.filter(pk=kept.pk).update(status=A.APPROVED)

    investigation_terminate(investigation_id=investigation.pk, user=analyst, reason="handled with the user")

    investigation.refresh_from_db()
    assert investigation.status == S.TERMINATED and investigation.reason == "handled with the user"
    assert investigation.finished_at is not None
    statuses = dict(investigation.actions.values_list("kind", "status"))
    assert statuses.pop("restrict_sending") == A.APPROVED
    assert set(statuses.values()) == {A.REJECTED}


def test_terminating_a_closed_investigation_is_refused(analyst):
    investigation = InvestigationFactory(status=S.NO_THREATS_FOUND)
    with pytest.raises(Conflict, match="no threats found"):
        investigation_terminate(investigation_id=investigation.pk, user=analyst, reason="r")


def test_a_run_finishing_after_termination_is_dropped(analyst, django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_attach_alert(alert_id=alert(megan).pk)
    running = investigation_claim(investigation_id=investigation.pk)
    outcome = compromised_user.run(running)
    investigation_terminate(investigation_id=investigation.pk, user=analyst, reason="duplicate")

    assert investigation_record_run(investigation_id=investigation.pk, outcome=outcome) is None
    investigation.refresh_from_db()
    assert investigation.status == S.TERMINATED
    assert not investigation.findings.exists() and not investigation.actions.exists()


# --- automation ------------------------------------------------------------------------------------


def test_manual_level_leaves_every_action_waiting(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks, level=AutomationLevel.MANUAL)
    assert set(investigation.actions.values_list("status", flat=True)) == {A.PENDING_APPROVAL}


def test_semi_level_runs_low_impact_actions_at_once(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks, level=AutomationLevel.SEMI)

    statuses = dict(investigation.actions.values_list("kind", "status"))
    assert {kind for kind, status in statuses.items() if status == A.SUCCEEDED} == {
        "revoke_sessions",
        "remove_inbox_rule",
        "disable_mailbox_forwarding",
    }
    assert {statuses[k] for k in ("reset_password", "disable_account", "restrict_sending")} == {A.PENDING_APPROVAL}
    assert investigation.actions.filter(automated=True, approved_by__isnull=True).count() == 3
    assert investigation.automation_level == AutomationLevel.SEMI
    investigation.refresh_from_db()
    assert investigation.status == S.PENDING_ACTION


def test_full_level_runs_everything_but_four_eyes_actions(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks, level=AutomationLevel.FULL)

    waiting = set(investigation.actions.filter(status=A.PENDING_APPROVAL).values_list("kind", flat=True))
    assert waiting == {"reset_password", "disable_account"}  # the four-eyes kinds always wait for people
    assert investigation.actions.filter(status=A.SUCCEEDED).count() == 5


def test_the_most_automated_policy_of_the_alerts_applies(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigate(megan, django_capture_on_commit_callbacks, level=AutomationLevel.MANUAL)
    investigation = investigate(
        megan, django_capture_on_commit_callbacks, detector="external_forwarding", level=AutomationLevel.SEMI
    )
    assert investigation.automation_level == AutomationLevel.SEMI


# --- pivots and SLA --------------------------------------------------------------------------------


def test_pivots_list_identities_sharing_the_attacker_ip_and_the_phishing_recipients(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    megan = identity()
    bec_attack(megan)
    lee = identity("lee.gu")
    signin(lee, T0 + timedelta(hours=1), MOSCOW, ip="102.89.32.18")
    signin(identity("tried"), T0 + timedelta(hours=1), MOSCOW, ip="102.89.32.18", succeeded=False)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    other = investigate(lee, django_capture_on_commit_callbacks)

    with django_assert_num_queries(3):
        related = {r.identity.upn: r for r in investigation_related_identities(investigation=investigation)}

    assert related["lee.gu@contoso.com"].reasons == ("signed in from 102.89.32.18",)
    assert related["lee.gu@contoso.com"].investigation_id == other.pk
    assert related["tried@contoso.com"].reasons == ("was tried from 102.89.32.18",)
    assert related["colleague0@contoso.com"].reasons == ("received the phishing mail",)
    assert megan.upn not in related
    assert len(related) == 7


def test_pending_actions_carry_their_age_and_overdue_ones_are_flagged(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    old = investigation.actions.get(kind="revoke_sessions")
    Action.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=90))  # SLA: 60 min

    pending = {a.kind: a for a in actions_pending().rows}
    assert pending["revoke_sessions"].sla.overdue
    assert pending["revoke_sessions"].sla.age >= timedelta(minutes=90)
    assert not pending["restrict_sending"].sla.overdue
    assert [a.kind for a in actions_pending(overdue_only=True).rows] == ["revoke_sessions"]
    later = timezone.now() + timedelta(hours=2)
    assert len(actions_pending(overdue_only=True, now=later).rows) == investigation.actions.count()

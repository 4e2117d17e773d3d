"""The action state machine: every transition's legal, illegal and duplicate/concurrent path."""

import pytest

from airportal.errors import Conflict, DomainError, NotAllowed, NotFound
from airportal.models import AuditEntry
from airportal.services import portal_settings_update
from investigations.models import Action, Investigation
from investigations.services.actions import (
    Proposal,
    _transition,
    action_approve,
    action_claim,
    action_propose,
    action_reject,
    action_undo,
)
from tests.factories import ActionFactory, InvestigationFactory

pytestmark = pytest.mark.django_db
A = Action.Status


@pytest.fixture
def investigation():
    return InvestigationFactory(status=Investigation.Status.PENDING_ACTION)


@pytest.fixture
def pending(investigation):
    return ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)


def audit_verbs(action):
    return list(
        AuditEntry.objects.filter(object_type="investigations.action", object_id=str(action.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )


# --- propose ---------------------------------------------------------------------------------------


def test_proposal_creates_a_pending_action_once_per_target(investigation):
    proposal = Proposal(kind="remove_inbox_rule", target="..", reason="hides invoices", parameters={"rule": ".."})
    first = action_propose(investigation=investigation, proposal=proposal)
    again = action_propose(investigation=investigation, proposal=proposal)

    assert first.status == A.PENDING_APPROVAL and first.impact == Action.Impact.LOW
    assert again is None
    assert investigation.actions.count() == 1
    assert audit_verbs(first) == ["action.proposed"]


def test_proposal_of_a_four_eyes_kind_is_flagged_high_impact(investigation):
    action = action_propose(
        investigation=investigation, proposal=Proposal(kind="disable_account", target="x@contoso.com", reason="r")
    )
    assert action.requires_second_approval and action.impact == Action.Impact.HIGH


# --- approve ---------------------------------------------------------------------------------------


def test_approval_records_who_and_queues_the_task(pending, analyst, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action = action_approve(action_id=pending.pk, user=analyst, comment="clear case")

    assert action.status == A.APPROVED
    pending.refresh_from_db()
    assert pending.approved_by == analyst and pending.decision_comment == "clear case"
    assert pending.approved_at is not None and pending.queued_at is not None
    assert len(callbacks) == 1  # the remediation task, sent only after commit
    assert audit_verbs(pending) == ["action.approved"]


def test_second_approval_is_refused_as_a_conflict(pending, analyst, analyst2):
    action_approve(action_id=pending.pk, user=analyst)
    with pytest.raises(Conflict, match="approved; it cannot be approved"):
        action_approve(action_id=pending.pk, user=analyst2)
    assert audit_verbs(pending) == ["action.approved"]


def test_approval_that_loses_the_race_changes_nothing(pending, analyst, analyst2):
    stale = Action.objects.get(pk=pending.pk)  # read before the other analyst's approval
    action_approve(action_id=pending.pk, user=analyst)

    assert _transition(stale, "approve", actor=analyst2, approved_by=analyst2) is False
    pending.refresh_from_db()
    assert pending.approved_by == analyst


def test_approving_a_rejected_action_is_refused(pending, analyst, analyst2):
    action_reject(action_id=pending.pk, user=analyst, comment="false positive")
    with pytest.raises(Conflict, match="rejected"):
        action_approve(action_id=pending.pk, user=analyst2)


def test_approving_a_missing_action_is_not_found(analyst):
    with pytest.raises(NotFound):
        action_approve(action_id=999999, user=analyst)


# --- four-eyes -------------------------------------------------------------------------------------


@pytest.fixture
def high_impact(investigation):
    return ActionFactory(investigation=investigation, kind=Action.Kind.DISABLE_ACCOUNT, requires_second_approval=True)


def test_four_eyes_first_approval_keeps_the_action_waiting(high_impact, analyst, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action_approve(action_id=high_impact.pk, user=analyst, comment="looks bad")
    high_impact.refresh_from_db()
    assert high_impact.status == A.PENDING_APPROVAL
    assert high_impact.approved_by == analyst
    assert callbacks == []  # nothing runs on one approval
    assert audit_verbs(high_impact) == ["action.first_approved"]


def test_four_eyes_same_person_twice_is_refused(high_impact, analyst):
    action_approve(action_id=high_impact.pk, user=analyst)
    with pytest.raises(NotAllowed, match="different person"):
        action_approve(action_id=high_impact.pk, user=analyst)
    high_impact.refresh_from_db()
    assert high_impact.status == A.PENDING_APPROVAL and high_impact.second_approved_by is None


def test_four_eyes_proposer_cannot_give_the_second_approval(investigation, analyst, manager):
    action = ActionFactory(
        investigation=investigation, kind=Action.Kind.RESET_PASSWORD, requires_second_approval=True, proposed_by=manager
    )
    action_approve(action_id=action.pk, user=analyst)
    with pytest.raises(NotAllowed, match="You proposed it"):
        action_approve(action_id=action.pk, user=manager)


def test_four_eyes_two_people_approve(high_impact, analyst, manager, django_capture_on_commit_callbacks):
    action_approve(action_id=high_impact.pk, user=analyst, comment="first")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action_approve(action_id=high_impact.pk, user=manager, comment="second")
    high_impact.refresh_from_db()
    assert high_impact.status == A.APPROVED
    assert (high_impact.approved_by, high_impact.second_approved_by) == (analyst, manager)
    assert high_impact.second_approval_comment == "second"
    assert len(callbacks) == 1
    assert audit_verbs(high_impact) == ["action.first_approved", "action.approved"]


def test_four_eyes_setting_applies_to_actions_already_pending(pending, analyst, admin_user):
    portal_settings_update(actor=admin_user, four_eyes_action_kinds=["revoke_sessions"])
    action_approve(action_id=pending.pk, user=analyst)
    pending.refresh_from_db()
    assert pending.status == A.PENDING_APPROVAL and pending.requires_second_approval


# --- reject ----------------------------------------------------------------------------------------


def test_rejection_needs_a_comment(pending, analyst):
    with pytest.raises(DomainError, match="comment is required"):
        action_reject(action_id=pending.pk, user=analyst, comment="  ")
    pending.refresh_from_db()
    assert pending.status == A.PENDING_APPROVAL


def test_rejection_closes_the_action_and_settles_the_investigation(pending, analyst, investigation):
    action_reject(action_id=pending.pk, user=analyst, comment="expected travel")
    pending.refresh_from_db()
    investigation.refresh_from_db()
    assert pending.status == A.REJECTED and pending.rejected_by == analyst
    assert investigation.status == Investigation.Status.REMEDIATED  # every action decided
    assert audit_verbs(pending) == ["action.rejected"]


def test_rejecting_twice_is_refused(pending, analyst, analyst2):
    action_reject(action_id=pending.pk, user=analyst, comment="no")
    with pytest.raises(Conflict):
        action_reject(action_id=pending.pk, user=analyst2, comment="no either")


def test_rejecting_an_approved_action_is_refused(pending, analyst, analyst2):
    action_approve(action_id=pending.pk, user=analyst)
    with pytest.raises(Conflict, match="approved"):
        action_reject(action_id=pending.pk, user=analyst2, comment="too late")


# --- claim (the worker) ----------------------------------------------------------------------------


def test_claim_takes_an_approved_action_once(pending, analyst):
    action_approve(action_id=pending.pk, user=analyst)
    first = action_claim(action_id=pending.pk, connector="simulated", max_attempts=5)
    second = action_claim(action_id=pending.pk, connector="simulated", max_attempts=5)

    assert first.status == A.RUNNING and first.attempts == 1
    assert second is None  # a redelivered task finds it taken
    pending.refresh_from_db()
    assert pending.attempts == 1 and pending.connector == "simulated" and pending.started_at is not None


def test_claim_of_a_pending_action_does_nothing(pending):
    assert action_claim(action_id=pending.pk, connector="simulated", max_attempts=5) is None
    pending.refresh_from_db()
    assert pending.status == A.PENDING_APPROVAL


def test_claim_gives_up_when_attempts_are_spent(pending, analyst, investigation):
    action_approve(action_id=pending.pk, user=analyst)
    Action.objects.filter(pk=pending.pk).update(attempts=5, error="503 Service Unavailable.")
    assert action_claim(action_id=pending.pk, connector="simulated", max_attempts=5) is None
    pending.refresh_from_db()
    investigation.refresh_from_db()
    assert pending.status == A.FAILED and pending.error == "503 Service Unavailable."
    assert investigation.status == Investigation.Status.PARTIALLY_REMEDIATED


# --- undo ------------------------------------------------------------------------------------------


def test_undo_of_an_irreversible_kind_is_refused(pending, analyst):
    Action.objects.filter(pk=pending.pk).update(status=A.SUCCEEDED)
    with pytest.raises(DomainError, match="cannot be undone"):
        action_undo(action_id=pending.pk, user=analyst)


def test_undo_of_an_action_that_did_not_succeed_is_refused(investigation, analyst):
    action = ActionFactory(investigation=investigation, kind=Action.Kind.RESTRICT_SENDING)
    with pytest.raises(Conflict, match="pending approval"):
        action_undo(action_id=action.pk, user=analyst)


def test_undo_twice_is_refused(investigation, analyst, analyst2):
    action = ActionFactory(investigation=investigation, kind=Action.Kind.RESTRICT_SENDING, status=A.SUCCEEDED)
    undo = action_undo(action_id=action.pk, user=analyst, comment="user travelled")
    with pytest.raises(Conflict, match="already requested"):
        action_undo(action_id=action.pk, user=analyst2)
    assert undo.undo_of == action and undo.status == A.APPROVED and undo.approved_by == analyst
    assert audit_verbs(undo) == ["action.undo_requested"]


def test_finishing_an_action_that_is_not_running_changes_nothing(pending, analyst):
    from investigations.services.actions import action_fail, action_succeed

    assert action_succeed(action=pending, detail="done", data={}, undo_state={}, already_done=False) is False
    assert action_fail(action=pending, error="boom") is False
    pending.refresh_from_db()
    assert pending.status == A.PENDING_APPROVAL and pending.result == {} and pending.error == ""

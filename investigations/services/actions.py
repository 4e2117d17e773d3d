"""The action state machine: proposal, approval (with four-eyes), rejection, execution, undo.

::

    pending_approval ─approve─► approved ─claim─► running ─succeed─► succeeded ─undo─► undone
        │  (four-eyes: first_approve keeps it pending     │  ▲      └─fail──► failed
        │   until a different person approves)            │  └─retry_later / requeue (back to approved)
        └─reject─► rejected                  approved ─give_up─► failed (attempts exhausted)

``TRANSITIONS`` is the single table of allowed moves. ``_transition`` performs each one as a
conditional UPDATE (``filter(pk=…, status__in=FROM).update(…) == 1``) plus its audit row, so two
analysts clicking at once, a double-submitted form or a redelivered task can never both win:
the loser gets a clear ``Conflict`` (people) or a no-op (tasks).
"""

import uuid
from collections.abc import Collection
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from airportal.audit import audit_record
from airportal.dispatch import task_send_on_commit
from airportal.errors import Conflict, DomainError, NotAllowed, NotFound
from airportal.roles import Capability, has_capability
from airportal.services import portal_settings_get
from investigations.models import Action, Finding, Investigation, NotificationEvent
from investigations.notifications.hooks import notify_on_commit
from investigations.playbooks.proposal import Proposal
from investigations.services.investigation_status import investigation_settle, investigation_step
from investigations.services.timeline import remediation_event_record

A = Action.Status

# verb -> (FROM statuses, TO status)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "first_approve": (frozenset({A.PENDING_APPROVAL}), A.PENDING_APPROVAL),
    "approve": (frozenset({A.PENDING_APPROVAL}), A.APPROVED),
    "auto_approve": (frozenset({A.PENDING_APPROVAL}), A.APPROVED),
    "reject": (frozenset({A.PENDING_APPROVAL}), A.REJECTED),
    "claim": (frozenset({A.APPROVED}), A.RUNNING),
    "retry_later": (frozenset({A.RUNNING}), A.APPROVED),
    "requeue": (frozenset({A.RUNNING}), A.APPROVED),
    "succeed": (frozenset({A.RUNNING}), A.SUCCEEDED),
    "fail": (frozenset({A.RUNNING}), A.FAILED),
    "give_up": (frozenset({A.APPROVED}), A.FAILED),
    "undo": (frozenset({A.SUCCEEDED}), A.UNDONE),
}
AUDIT_VERBS = {
    "first_approve": "action.first_approved",
    "approve": "action.approved",
    "auto_approve": "action.auto_approved",
    "reject": "action.rejected",
    "claim": "action.started",
    "retry_later": "action.retry_scheduled",
    "requeue": "action.requeued",
    "succeed": "action.succeeded",
    "fail": "action.failed",
    "give_up": "action.failed",
    "undo": "action.undone",
}


def _transition(
    action: Action, verb: str, *, actor=None, summary: str = "", filters: Q | None = None, **fields
) -> bool:
    """Move ``action`` along ``verb`` if it is still in a FROM status; audit it. False if it lost a race."""
    allowed_from, to = TRANSITIONS[verb]
    query = Action.objects.filter(pk=action.pk, status__in=allowed_from)
    if filters is not None:
        query = query.filter(filters)
    if query.update(status=to, **fields) != 1:
        return False
    before = action.status
    action.status = to
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(action, name, value)
    audit_record(
        actor=actor,
        verb=AUDIT_VERBS[verb],
        target=action,
        summary=summary,
        changes={"status": [before, to], "investigation": action.investigation_id},
    )
    if to == A.FAILED:
        notify_on_commit(NotificationEvent.ACTION_FAILED, action.pk)
    return True


def _get(action_id: int) -> Action:
    action = Action.objects.select_related("investigation", "identity").filter(pk=action_id).first()
    if action is None:
        raise NotFound(f"There is no action #{action_id}.")
    return action


def _refused(action: Action, doing: str) -> Conflict:
    action.refresh_from_db(fields=["status"])
    return Conflict(f"This action is {action.get_status_display().lower()}; it cannot be {doing}.")


def action_needs_four_eyes(action: Action, *, four_eyes_kinds: Collection[str] | None = None) -> bool:
    """Four-eyes applies if it did when proposed or if the admin setting asks for it now.

    ``four_eyes_kinds`` lets a list page read the setting once for all its rows.
    """
    if four_eyes_kinds is None:
        four_eyes_kinds = portal_settings_get().four_eyes_action_kinds
    return action.requires_second_approval or action.kind in four_eyes_kinds


def action_propose(
    *, investigation: Investigation, proposal: Proposal, finding: Finding | None = None, proposed_by=None
) -> Action | None:
    """Create a ``pending_approval`` action; None if the same kind and target was already proposed.

    The constraint ``action_once_per_target`` decides, so concurrent proposals cannot duplicate.
    """
    four_eyes = proposal.kind in portal_settings_get().four_eyes_action_kinds
    try:
        with transaction.atomic():
            action = Action.objects.create(
                investigation=investigation,
                identity_id=investigation.identity_id,
                kind=proposal.kind,
                target=proposal.target[:512],
                parameters=proposal.parameters,
                reason=proposal.reason,
                finding=finding,
                impact=Action.Impact.LOW if proposal.kind in Action.LOW_IMPACT_KINDS else Action.Impact.HIGH,
                requires_second_approval=four_eyes,
                proposed_by=proposed_by,
                idempotency_key=uuid.uuid4().hex,
            )
            audit_record(actor=proposed_by, verb="action.proposed", target=action, summary=proposal.reason)
    except IntegrityError:
        return None
    return action


def action_approve_automatically(*, action: Action, automation_level: str) -> bool:
    """Approve on behalf of the automation level (``semi``/``full``); never a four-eyes action."""
    if action_needs_four_eyes(action):
        return False
    now = timezone.now()
    done = _transition(
        action,
        "auto_approve",
        summary=f"Approved by the '{automation_level}' automation level.",
        automated=True,
        approved_at=now,
        queued_at=now,
    )
    if done:
        task_send_on_commit("investigations.run_action", action.pk)
    return done


# --- People's decisions ----------------------------------------------------------------------------


def action_approve(*, action_id: int, user, comment: str = "") -> Action:
    """Approve; for four-eyes kinds the first call records the first approval only.

    The second approval must come from a different person than the first approver and the
    proposer. When fully approved, the remediation task is queued after commit.
    """
    comment = (comment or "").strip()
    now = timezone.now()
    with transaction.atomic():
        action = _get(action_id)
        if action.status != A.PENDING_APPROVAL:
            raise _refused(action, "approved")
        if not action_needs_four_eyes(action):
            if not _transition(
                action,
                "approve",
                actor=user,
                summary=comment,
                approved_by=user,
                approved_at=now,
                decision_comment=comment,
                queued_at=now,
            ):
                raise _refused(action, "approved")
        elif action.approved_by_id is None:
            if not _transition(
                action,
                "first_approve",
                actor=user,
                summary=comment or "First of two approvals.",
                filters=Q(approved_by__isnull=True),
                approved_by=user,
                approved_at=now,
                decision_comment=comment,
                requires_second_approval=True,
            ):
                raise Conflict("Someone else approved this action at the same moment; reload to see who.")
            investigation_step(action.investigation_id, f"{user} gave the first approval of {action}.")
            return action
        else:
            if user.pk in (action.approved_by_id, action.proposed_by_id):
                role = "gave the first approval" if user.pk == action.approved_by_id else "proposed it"
                raise NotAllowed(f"You {role}; a different person must give the second approval (four-eyes).")
            if not has_capability(user, Capability.SECOND_APPROVAL):
                raise NotAllowed("Your role does not allow giving the second approval of high-impact actions.")
            if not _transition(
                action,
                "approve",
                actor=user,
                summary=comment or "Second approval.",
                filters=Q(approved_by=action.approved_by_id),
                second_approved_by=user,
                second_approved_at=now,
                second_approval_comment=comment,
                queued_at=now,
            ):
                raise _refused(action, "approved")
        investigation_step(action.investigation_id, f"{user} approved {action}.")
        task_send_on_commit("investigations.run_action", action.pk)
    return action


def action_reject(*, action_id: int, user, comment: str) -> Action:
    """Reject with a required comment; the action closes and the investigation may settle."""
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("Say why you reject this action: a comment is required.")
    with transaction.atomic():
        action = _get(action_id)
        if not _transition(
            action,
            "reject",
            actor=user,
            summary=comment,
            rejected_by=user,
            rejected_at=timezone.now(),
            decision_comment=comment,
        ):
            raise _refused(action, "rejected")
        investigation_step(action.investigation_id, f"{user} rejected {action}: {comment}")
        investigation_settle(investigation_id=action.investigation_id)
    return action


def actions_withdraw_pending(*, investigation_id: int, actor, reason: str) -> int:
    """Reject every action still waiting for approval (the investigation was terminated)."""
    withdrawn = 0
    for action in Action.objects.filter(investigation_id=investigation_id, status=A.PENDING_APPROVAL):
        withdrawn += _transition(
            action,
            "reject",
            actor=actor,
            summary=f"Withdrawn: {reason}",
            rejected_by=actor,
            rejected_at=timezone.now(),
            decision_comment=f"Investigation terminated: {reason}",
        )
    return withdrawn


def action_undo(*, action_id: int, user, comment: str = "") -> Action:
    """Ask the connector to reverse a succeeded action; returns the new undo action (approved, queued).

    The undo is an action of its own (``undo_of``), audited and run by the same task, so it is
    exactly-once too. At most one undo per action (``undo_of`` is one-to-one).
    """
    comment = (comment or "").strip()
    now = timezone.now()
    with transaction.atomic():
        original = _get(action_id)
        if original.is_undo:
            raise DomainError("An undo cannot itself be undone.")
        if original.kind not in Action.REVERSIBLE_KINDS:
            raise DomainError(f"{original.get_kind_display()} cannot be undone.")
        if original.status != A.SUCCEEDED:
            raise _refused(original, "undone")
        try:
            with transaction.atomic():
                undo = Action.objects.create(
                    investigation_id=original.investigation_id,
                    identity_id=original.identity_id,
                    kind=original.kind,
                    target=original.target,
                    parameters=original.parameters,
                    reason=f"Undo of action #{original.pk}" + (f": {comment}" if comment else ""),
                    impact=original.impact,
                    status=A.APPROVED,
                    proposed_by=user,
                    approved_by=user,
                    approved_at=now,
                    decision_comment=comment,
                    queued_at=now,
                    undo_of=original,
                    idempotency_key=uuid.uuid4().hex,
                )
        except IntegrityError:
            raise Conflict("An undo of this action was already requested.")
        audit_record(
            actor=user, verb="action.undo_requested", target=undo, summary=comment, changes={"undo_of": original.pk}
        )
        investigation_step(original.investigation_id, f"{user} asked to undo {original}.")
        task_send_on_commit("investigations.run_action", undo.pk)
    return undo


# --- The worker's side -----------------------------------------------------------------------------


def action_claim(*, action_id: int, connector: str, max_attempts: int) -> Action | None:
    """approved → running for this worker, or None (already claimed, finished, gone or out of attempts)."""
    with transaction.atomic():
        action = Action.objects.filter(pk=action_id).select_related("undo_of").first()
        if action is None or action.status != A.APPROVED:
            return None
        if action.attempts >= max_attempts:
            _transition(
                action,
                "give_up",
                summary=f"Gave up after {action.attempts} attempts.",
                finished_at=timezone.now(),
                error=action.error or f"Gave up after {action.attempts} attempts.",
            )
            investigation_settle(investigation_id=action.investigation_id)
            return None
        if not _transition(
            action,
            "claim",
            summary=f"Attempt {action.attempts + 1} via the {connector} connector.",
            filters=Q(attempts=action.attempts),
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            connector=connector,
        ):
            return None
        action.attempts += 1
    return action


def action_succeed(*, action: Action, detail: str, data: dict, undo_state: dict, already_done: bool) -> bool:
    """running → succeeded with the connector's answer; records the change on the user's timeline."""
    with transaction.atomic():
        result = {"detail": detail, "data": data, "undo_state": undo_state, "already_done": already_done}
        if not _transition(action, "succeed", summary=detail, result=result, error="", finished_at=timezone.now()):
            return False
        if action.undo_of_id:
            _transition(
                action.undo_of,
                "undo",
                summary=f"Undone by action #{action.pk}: {detail}",
            )
        remediation_event_record(action=action, detail=detail)
        investigation_step(action.investigation_id, f"{'Undo of ' if action.undo_of_id else ''}{action}: {detail}")
        investigation_settle(investigation_id=action.investigation_id)
    return True


def action_fail(*, action: Action, error: str) -> bool:
    """running → failed with the error shown to people; the investigation may settle as partial."""
    with transaction.atomic():
        if not _transition(action, "fail", summary=error, error=error, finished_at=timezone.now()):
            return False
        investigation_step(action.investigation_id, f"{action} failed: {error}", level="error")
        investigation_settle(investigation_id=action.investigation_id)
    return True


def action_retry_later(*, action: Action, error: str, delay: float) -> bool:
    """running → approved, due in ``delay`` seconds (a transient error); the caller re-queues it."""
    due = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        return _transition(
            action, "retry_later", summary=f"{error} — retrying in {delay:.0f} s.", error=error, queued_at=due
        )


def action_requeue_stale(*, action: Action, cutoff) -> bool:
    """running → approved for an action whose worker died (started before ``cutoff``); then re-queued."""
    with transaction.atomic():
        done = _transition(
            action,
            "requeue",
            summary="The worker running it stopped; queued again.",
            filters=Q(started_at__lt=cutoff),
            queued_at=timezone.now(),
        )
        if done:
            task_send_on_commit("investigations.run_action", action.pk)
    return done

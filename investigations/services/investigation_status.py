"""The investigation state machine: one table of allowed moves, one conditional UPDATE per move.

::

    queued ─claim─► running ─finish─► pending_action ─settle─► remediated | partially_remediated
      ▲                │  └─finish─► no_threats_found | failed
      └──rerun/requeue─┘                    (any open status) ─terminate─► terminated

``investigation_transition`` is the only code that changes ``Investigation.status``; it writes
the audit row in the caller's transaction and answers False when the row was not in a FROM
status any more (another worker, a second click), so callers never overwrite each other.
"""

from django.db import transaction
from django.utils import timezone

from airportal.audit import audit_record
from investigations.models import Action, Investigation, InvestigationStep, NotificationEvent
from investigations.notifications.hooks import notify_on_commit

S = Investigation.Status
OPEN = frozenset(Investigation.OPEN_STATUSES)

# verb -> (allowed FROM statuses, allowed TO statuses)
TRANSITIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "claim": (frozenset({S.QUEUED}), frozenset({S.RUNNING})),
    "finish": (
        frozenset({S.RUNNING}),
        frozenset({S.PENDING_ACTION, S.NO_THREATS_FOUND, S.FAILED, S.REMEDIATED, S.PARTIALLY_REMEDIATED}),
    ),
    "rerun": (frozenset({S.PENDING_ACTION, S.RUNNING}), frozenset({S.QUEUED})),
    # Late evidence inside the window of a recently closed investigation opens it again.
    "reopen": (frozenset({S.NO_THREATS_FOUND, S.REMEDIATED, S.PARTIALLY_REMEDIATED}), frozenset({S.QUEUED})),
    "requeue": (frozenset({S.RUNNING}), frozenset({S.QUEUED})),
    "settle": (frozenset({S.PENDING_ACTION}), frozenset({S.REMEDIATED, S.PARTIALLY_REMEDIATED})),
    "terminate": (OPEN, frozenset({S.TERMINATED})),
}
CLOSED_BY = {"finish", "settle", "terminate"}
DEAD_RUN_NOTE = "The worker running the playbook stopped; queued again."


def investigation_transition(
    investigation: Investigation,
    *,
    verb: str,
    to: str,
    actor=None,
    note: str = "",
    filters: dict | None = None,
    **fields,
) -> bool:
    """Move ``investigation`` to ``to`` if it is still in one of the verb's FROM statuses.

    ``note`` is the audit row's summary; ``filters`` narrows the conditional UPDATE further
    (e.g. ``{"run_started_at__lt": cutoff}``).
    Returns True when this call made the move (and audited it), False when it lost a race.
    """
    allowed_from, allowed_to = TRANSITIONS[verb]
    if to not in allowed_to:
        raise ValueError(f"investigation {verb} cannot lead to {to}")
    now = timezone.now()
    if to not in OPEN and verb in CLOSED_BY:
        fields.setdefault("finished_at", now)
    updated = Investigation.objects.filter(pk=investigation.pk, status__in=allowed_from, **(filters or {})).update(
        status=to, updated_at=now, **fields
    )
    if updated != 1:
        return False
    before = investigation.status
    investigation.status = to
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(investigation, name, value)
    audit_record(
        actor=actor,
        verb=f"investigation.{verb}",
        target=investigation,
        summary=note or f"{before} → {to}",
        changes={"status": [before, to]},
    )
    if to == S.PENDING_ACTION:
        notify_on_commit(NotificationEvent.INVESTIGATION_PENDING_ACTION, investigation.pk, str(investigation.run_count))
    return True


def investigation_requeue_dead_run(investigation: Investigation, *, now, started_before=None) -> bool:
    """running → queued for a playbook run whose worker died; True if this call moved it. Call in a transaction.

    The sweep passes ``started_before`` (past the playbook's hard time limit, so the worker is
    certainly gone); the run task passes none when Celery tells it the process running it died.
    """
    filters = {"run_started_at__lt": started_before} if started_before is not None else None
    if not investigation_transition(
        investigation, verb="requeue", to=S.QUEUED, note=DEAD_RUN_NOTE, filters=filters, queued_at=now
    ):
        return False
    investigation_step(investigation.pk, DEAD_RUN_NOTE)
    return True


def investigation_step(investigation_id: int, message: str, *, level: str = "info") -> None:
    """Append a line to the investigation's log (shown on its page)."""
    InvestigationStep.objects.create(investigation_id=investigation_id, message=message[:4000], level=level)


def investigation_settle(*, investigation_id: int) -> str | None:
    """Close a ``pending_action`` investigation once every action is decided; the new status or None.

    ``remediated`` when no action failed (rejected ones count as decided), else
    ``partially_remediated``. The investigation row is locked first, so two actions
    finishing at the same moment cannot both miss each other's result.
    """
    with transaction.atomic():
        investigation = Investigation.objects.select_for_update().filter(pk=investigation_id).first()
        if investigation is None or investigation.status != S.PENDING_ACTION:
            return None
        statuses = set(investigation.actions.values_list("status", flat=True))
        if not statuses or not statuses <= set(Action.TERMINAL_STATUSES):
            return None
        to = S.PARTIALLY_REMEDIATED if Action.Status.FAILED in statuses else S.REMEDIATED
        if not investigation_transition(investigation, verb="settle", to=to):
            return None
        investigation_step(
            investigation_id,
            "Every action is decided: remediated."
            if to == S.REMEDIATED
            else "Every action is decided, but at least one approved action failed: partially remediated.",
            level="info" if to == S.REMEDIATED else "warning",
        )
        return to

"""Investigations: opening (by an alert or by hand), joining alerts, running the playbook, terminating.

One open investigation per identity is enforced by the database (``investigation_one_open_per_identity``):
two alerts racing to open one both end up in the same investigation, because the loser of the
insert re-reads the winner's row. Status moves go through ``investigation_status``.
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from airportal.audit import audit_record
from airportal.dispatch import task_send_on_commit
from airportal.errors import Conflict, DomainError, NotFound
from alerts.models import Alert, Identity, Severity
from investigations.models import Action, Finding, Investigation
from investigations.playbooks import PLAYBOOKS
from investigations.playbooks.live import LiveView
from investigations.playbooks.text import stamp
from investigations.services.actions import action_approve_automatically, action_propose, actions_withdraw_pending
from investigations.services.investigation_status import (
    TRANSITIONS,
    investigation_requeue_dead_run,
    investigation_step,
    investigation_transition,
)
from investigations.signals import playbook_starting

logger = logging.getLogger(__name__)
S = Investigation.Status
OPEN = list(Investigation.OPEN_STATUSES)


def _open_or_create(*, identity: Identity, started_by=None, reason: str = "") -> tuple[Investigation, bool]:
    """The identity's open investigation, locked; a new queued one if there is none. Call inside atomic."""
    for _ in range(3):
        investigation = Investigation.objects.select_for_update().filter(identity=identity, status__in=OPEN).first()
        if investigation is not None:
            return investigation, False
        try:
            with transaction.atomic():
                investigation = Investigation.objects.create(
                    identity=identity, started_by=started_by, reason=reason, queued_at=timezone.now()
                )
        except IntegrityError:  # opened by someone else a moment ago: join theirs
            continue
        return investigation, True
    raise Conflict(f"Could not open an investigation for {identity.upn}; try again.")


def _opened(investigation: Investigation, *, actor, summary: str) -> None:
    audit_record(actor=actor, verb="investigation.started", target=investigation, summary=summary)
    investigation_step(investigation.pk, summary)
    task_send_on_commit("investigations.run_playbook", investigation.pk)


def investigation_request_rerun(*, investigation: Investigation, why: str) -> None:
    """Run the playbook again with the new evidence. The row must be locked by the caller."""
    if investigation.status == S.QUEUED:
        return  # the coming run will see it
    if investigation.status == S.RUNNING:
        Investigation.objects.filter(pk=investigation.pk, status=S.RUNNING).update(rerun_requested=True)
        investigation_step(investigation.pk, f"{why}; the playbook will run again when this run ends.")
        return
    if investigation_transition(
        investigation, verb="rerun", to=S.QUEUED, note=why, queued_at=timezone.now(), rerun_requested=False
    ):
        investigation_step(investigation.pk, f"{why}; the playbook runs again.")
        task_send_on_commit("investigations.run_playbook", investigation.pk)


REOPEN_WITHIN = timedelta(days=7)  # a closed investigation takes late evidence this long after it ended


def investigations_take_late_evidence(*, spans: dict[int, tuple[datetime, datetime]]) -> int:
    """Run the playbook again where newly judged events fall inside an investigation's window.

    Audit records often arrive hours after the sign-in that opened the investigation; the
    playbook must judge them. The identity's open investigation re-runs; without one, its
    latest investigation closed in the last 7 days is reopened. Returns how many were queued.
    """
    cutoff = timezone.now() - REOPEN_WITHIN
    candidates = (
        Investigation.objects.filter(identity_id__in=list(spans))
        .filter(Q(status__in=OPEN) | Q(status__in=TRANSITIONS["reopen"][0], finished_at__gte=cutoff))
        .order_by("identity_id", "-created_at")
    )
    chosen: dict[int, Investigation] = {}
    for investigation in candidates:  # the open one if any (at most one), else the latest closed
        current = chosen.get(investigation.identity_id)
        if current is None or (investigation.status in OPEN and current.status not in OPEN):
            chosen[investigation.identity_id] = investigation
    queued = 0
    for identity_id, investigation in chosen.items():
        first, last = spans[identity_id]
        if investigation.window_start is None:
            continue  # not run yet: its first run reads these events
        if last < investigation.window_start or first > investigation.window_end:
            continue
        why = f"Activity from {stamp(first)} inside its window arrived after the last run"
        try:
            with transaction.atomic():
                locked = Investigation.objects.select_for_update().get(pk=investigation.pk)
                if locked.status in OPEN:
                    investigation_request_rerun(investigation=locked, why=why)
                elif investigation_transition(
                    locked, verb="reopen", to=S.QUEUED, note=why, queued_at=timezone.now(), finished_at=None
                ):
                    investigation_step(locked.pk, f"{why}; reopened, the playbook runs again.")
                    task_send_on_commit("investigations.run_playbook", locked.pk)
                else:
                    continue
        except IntegrityError:  # another investigation of the identity opened meanwhile: it reads them
            continue
        queued += 1
    return queued


@transaction.atomic
def investigation_attach_alert(*, alert_id: int) -> Investigation | None:
    """Put the alert into its identity's open investigation (opening one if needed) and re-run it.

    Informational alerts join an open investigation but never open one on their own; an alert
    about no user (another product's alert on a device or an app) has no account to investigate.
    """
    alert = Alert.objects.select_related("identity").filter(pk=alert_id).first()
    if alert is None:
        logger.info("Alert %s is gone; nothing to investigate", alert_id)
        return None
    if alert.identity_id is None:
        return None
    if alert.severity == Severity.INFORMATIONAL:
        investigation = (
            Investigation.objects.select_for_update().filter(identity=alert.identity, status__in=OPEN).first()
        )
        if investigation is None:
            return None
        created = False
    else:
        investigation, created = _open_or_create(identity=alert.identity)
    already = investigation.alerts.filter(pk=alert.pk).exists()
    investigation.alerts.add(alert)
    if created:
        _opened(
            investigation, actor=None, summary=f"Opened by the alert {alert.title!r} ({alert.get_severity_display()})."
        )
    elif not already:
        investigation_request_rerun(investigation=investigation, why=f"The alert {alert.title!r} joined")
    else:
        investigation_request_rerun(investigation=investigation, why=f"New activity folded into {alert.title!r}")
    return investigation


@transaction.atomic
def investigation_start(*, upn: str, user, reason: str = "") -> tuple[Investigation, bool]:
    """Start an investigation by hand on a monitored identity; (investigation, created).

    If one is already open, it is re-run and returned instead (there is one open per identity).
    """
    upn = (upn or "").strip().lower()
    if not upn or "@" not in upn:
        raise DomainError("Give the user principal name of the user to investigate, e.g. megan@contoso.com.")
    identity = Identity.objects.filter(upn=upn).first()
    if identity is None:
        raise DomainError(
            f"{upn} is not a monitored identity: AIR Portal has no activity for it yet. Ingest its logs first."
        )
    reason = (reason or "").strip()[:2000] or "Started by hand."
    investigation, created = _open_or_create(identity=identity, started_by=user, reason=reason)
    if created:
        _opened(investigation, actor=user, summary=f"Started by {user}: {reason}")
    else:
        audit_record(actor=user, verb="investigation.rerun_requested", target=investigation, summary=reason)
        investigation_request_rerun(investigation=investigation, why=f"{user} asked for a new run: {reason}")
    return investigation, created


@transaction.atomic
def investigation_terminate(*, investigation_id: int, user, reason: str) -> Investigation:
    """Stop an open investigation with a reason; actions waiting for approval are withdrawn.

    Actions already approved keep running: a person decided them.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why you terminate this investigation: a reason is required.")
    investigation = Investigation.objects.select_for_update().filter(pk=investigation_id).first()
    if investigation is None:
        raise NotFound(f"There is no investigation #{investigation_id}.")
    if not investigation_transition(
        investigation, verb="terminate", to=S.TERMINATED, actor=user, note=reason, reason=reason[:2000]
    ):
        raise Conflict(f"This investigation is {investigation.get_status_display().lower()}; it cannot be terminated.")
    withdrawn = actions_withdraw_pending(investigation_id=investigation.pk, actor=user, reason=reason)
    investigation_step(
        investigation.pk,
        f"Terminated by {user}: {reason}" + (f" ({withdrawn} pending action(s) withdrawn)" if withdrawn else ""),
        level="warning",
    )
    return investigation


# --- the playbook run ------------------------------------------------------------------------------


def investigation_claim(*, investigation_id: int) -> Investigation | None:
    """queued → running for this worker, or None if another worker has it (or it is closed or gone)."""
    investigation = Investigation.objects.filter(pk=investigation_id).first()
    if investigation is None or investigation.status != S.QUEUED:
        return None
    with transaction.atomic():
        now = timezone.now()
        if not investigation_transition(
            investigation,
            verb="claim",
            to=S.RUNNING,
            run_count=F("run_count") + 1,
            run_started_at=now,
            started_at=Coalesce("started_at", now),
            rerun_requested=False,
        ):
            return None
    return Investigation.objects.select_related("identity").get(pk=investigation_id)


def investigation_run_playbook(*, investigation_id: int, worker_lost: bool = False) -> str | None:
    """What the ``investigations.run_playbook`` task does; the status it ended in, or None if not ours.

    ``worker_lost``: this delivery follows one whose process died (Celery re-sends the task), so
    a ``running`` run is taken over. Should the lost delivery not have been the one running it,
    two runs overlap harmlessly: the first to finish records, the other's results are dropped.
    """
    if worker_lost:
        lost = Investigation.objects.filter(pk=investigation_id, status=S.RUNNING).first()
        if lost is not None:
            with transaction.atomic():
                investigation_requeue_dead_run(lost, now=timezone.now())
    investigation = investigation_claim(investigation_id=investigation_id)
    if investigation is None:
        logger.info("Investigation %s is not queued (taken, closed or gone): nothing to do", investigation_id)
        return None
    investigation_step(investigation.pk, f"Playbook {investigation.playbook} started (run {investigation.run_count}).")
    try:
        playbook_starting.send(sender=Investigation, identity_ids=[investigation.identity_id])
        outcome = PLAYBOOKS[investigation.playbook].run(investigation)
    except Exception as exc:
        logger.exception("Playbook failed on investigation %s", investigation_id)
        with transaction.atomic():
            locked = Investigation.objects.select_for_update().get(pk=investigation_id)
            if investigation_transition(locked, verb="finish", to=S.FAILED, note=f"The playbook could not run: {exc}"):
                investigation_step(
                    investigation_id, f"The playbook could not run: {type(exc).__name__}: {exc}", level="error"
                )
        return S.FAILED
    status = investigation_record_run(investigation_id=investigation_id, outcome=outcome)
    return status


@transaction.atomic
def investigation_record_run(*, investigation_id: int, outcome) -> str | None:
    """Store a run's findings and proposals, apply the automation level and set the status.

    If new evidence arrived during the run, the investigation goes back to ``queued``; if it
    was terminated meanwhile, the results are dropped.
    """
    investigation = (
        Investigation.objects.select_for_update(of=("self",)).select_related("identity").get(pk=investigation_id)
    )
    if investigation.status != S.RUNNING:
        investigation_step(investigation_id, "The run's results were dropped: the investigation was closed meanwhile.")
        return None
    findings = _store_findings(investigation, outcome.results)
    proposed = set(investigation.actions.filter(undo_of__isnull=True).values_list("kind", "target"))
    created = []
    for proposal, key in outcome.proposals:
        if (proposal.kind, proposal.target[:512]) in proposed:
            continue  # a re-run: already proposed (the constraint would refuse it anyway)
        action = action_propose(investigation=investigation, proposal=proposal, finding=findings.get(key))
        if action is not None:
            created.append(action)
    automated = _automate(created, outcome.automation_level)
    _log_run(investigation, outcome, created, automated)
    common = {
        "verdict": outcome.verdict,
        "verdict_rule": outcome.verdict_rule,
        "risk_score": outcome.risk_score,
        "summary": outcome.summary,
        "automation_level": outcome.automation_level,
        "window_start": outcome.window_start,
        "window_end": outcome.window_end,
        "live_state": outcome.live_state.as_json(),
    }
    if investigation.rerun_requested:
        investigation_transition(
            investigation, verb="rerun", to=S.QUEUED, queued_at=timezone.now(), rerun_requested=False, **common
        )
        task_send_on_commit("investigations.run_playbook", investigation.pk)
        return S.QUEUED
    to = _status_after_run(investigation, failed=bool(outcome.failed_checks))
    investigation_transition(investigation, verb="finish", to=to, note=outcome.summary[:500], **common)
    return to


def _store_findings(investigation: Investigation, results) -> dict[str, Finding]:
    """Upsert one finding per check key (ids survive re-runs), drop stale ones, relink events: 5 queries."""
    existing = {finding.check_key: finding for finding in investigation.findings.all()}
    new, changed = [], []
    for result in results:
        finding = existing.pop(result.key, None)
        if finding is None:
            finding = Finding(investigation=investigation, check_key=result.key)
            new.append(finding)
        else:
            changed.append(finding)
        finding.title = result.title[:300]
        finding.verdict = result.verdict
        finding.explanation = result.explanation
        finding.data = result.data
    if existing:
        Finding.objects.filter(pk__in=[f.pk for f in existing.values()]).delete()
    Finding.objects.bulk_create(new)
    if changed:
        Finding.objects.bulk_update(changed, ["title", "verdict", "explanation", "data"])
    by_key = {f.check_key: f for f in [*new, *changed]}
    through = Finding.events.through
    through.objects.filter(finding__investigation=investigation).delete()
    through.objects.bulk_create(
        [
            through(finding_id=by_key[r.key].pk, event_id=e.pk)
            for r in results
            for e in {e.pk: e for e in r.events}.values()
        ],
        ignore_conflicts=True,
    )
    return by_key


def _automate(actions: list[Action], level: str) -> list[Action]:
    """Approve what the automation level allows: semi = low-impact kinds, full = all; never four-eyes."""
    if level == "manual":
        return []
    allowed = [a for a in actions if level == "full" or a.kind in Action.LOW_IMPACT_KINDS]
    return [a for a in allowed if action_approve_automatically(action=a, automation_level=level)]


def _status_after_run(investigation: Investigation, *, failed: bool) -> str:
    if failed:
        return S.FAILED
    statuses = set(investigation.actions.values_list("status", flat=True))
    if not statuses:
        return S.NO_THREATS_FOUND
    if statuses <= set(Action.TERMINAL_STATUSES):
        return S.PARTIALLY_REMEDIATED if Action.Status.FAILED in statuses else S.REMEDIATED
    return S.PENDING_ACTION


def _log_run(investigation: Investigation, outcome, created: list[Action], automated: list[Action]) -> None:
    flagged = sum(1 for r in outcome.results if r.flagged)
    investigation_step(
        investigation.pk,
        f"Read {outcome.events_read:,} events; {len(outcome.results)} checks, {flagged} flagged. "
        f"Verdict: {outcome.verdict or 'none'} (risk {outcome.risk_score}/100).",
    )
    live = outcome.live_state
    if LiveView(live).nothing_read:
        investigation_step(
            investigation.pk,
            f"Live state not read ({next(iter(live.unread.values()))}): judged the logs alone.",
            level="warning",
        )
    else:
        unread = f"; not read: {', '.join(sorted(live.unread))}" if live.unread else ""
        investigation_step(
            investigation.pk,
            f"Read the account's current state from the {live.source} tenant: {len(live.items)} item(s){unread}.",
        )
    for title in outcome.failed_checks:
        investigation_step(investigation.pk, f"Check failed: {title}.", level="error")
    if created:
        line = f"Proposed {len(created)} action(s)"
        if automated:
            line += f"; {len(automated)} approved at once by the {outcome.automation_level!r} automation level"
        investigation_step(investigation.pk, line + ".")

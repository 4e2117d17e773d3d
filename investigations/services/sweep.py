"""The periodic sweep (``investigations.sweep``, every minute on beat): nothing approved is ever lost.

- approved actions whose task never started (the broker was down at approval, or the message
  was lost) are queued again once they are ``REMEDIATION_REQUEUE_AFTER_SECONDS`` overdue;
- running actions whose worker died (started longer ago than the task's hard time limit,
  which Celery enforces by killing the process) go back to approved and are queued again; the
  idempotency key makes the connector's second call safe;
- the same for queued and running playbook runs (a run whose pool process alone died is taken
  over at once by the re-sent ``run_playbook`` task; the sweep is for workers that died whole);
- ``pending_action`` investigations whose actions are all decided are settled (a safety net);
- open alerts that never reached an investigation (the broker was down when they were raised)
  are correlated again.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from airportal.dispatch import task_send_on_commit
from alerts.models import Alert, Severity
from investigations.models import Action, Investigation
from investigations.services.actions import action_requeue_stale
from investigations.services.investigation_status import investigation_requeue_dead_run, investigation_settle

logger = logging.getLogger(__name__)
BATCH = 500


def remediation_task_time_limit() -> int:
    """Hard time limit of one ``run_action`` task, in seconds."""
    return int(getattr(settings, "REMEDIATION_TASK_TIME_LIMIT", 120))


def sweep_thresholds() -> dict[str, timedelta]:
    requeue = timedelta(seconds=int(getattr(settings, "REMEDIATION_REQUEUE_AFTER_SECONDS", 60)))
    return {
        "requeue_after": requeue,
        "action_dead_after": timedelta(seconds=remediation_task_time_limit() + 30),
        "playbook_dead_after": timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT) + 60),
    }


def investigations_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Re-queue what was lost; the counts of what it did."""
    now = now or timezone.now()
    limits = sweep_thresholds()
    counts = {
        "actions_requeued": 0,
        "actions_recovered": 0,
        "runs_requeued": 0,
        "runs_recovered": 0,
        "settled": 0,
        "alerts_correlated": 0,
    }

    for action in Action.objects.filter(
        status=Action.Status.APPROVED, queued_at__lt=now - limits["requeue_after"]
    ).order_by("queued_at")[:BATCH]:
        with transaction.atomic():
            # Conditional on the queued_at we read, so two sweeps never both send it.
            if Action.objects.filter(pk=action.pk, status=action.status, queued_at=action.queued_at).update(
                queued_at=now
            ):
                task_send_on_commit("investigations.run_action", action.pk)
                counts["actions_requeued"] += 1

    cutoff = now - limits["action_dead_after"]
    for action in Action.objects.filter(status=Action.Status.RUNNING, started_at__lt=cutoff)[:BATCH]:
        counts["actions_recovered"] += action_requeue_stale(action=action, cutoff=cutoff)

    for investigation in Investigation.objects.filter(
        status=Investigation.Status.QUEUED, queued_at__lt=now - limits["requeue_after"]
    )[:BATCH]:
        with transaction.atomic():
            if Investigation.objects.filter(
                pk=investigation.pk, status=investigation.status, queued_at=investigation.queued_at
            ).update(queued_at=now):
                task_send_on_commit("investigations.run_playbook", investigation.pk)
                counts["runs_requeued"] += 1

    dead = now - limits["playbook_dead_after"]
    for investigation in Investigation.objects.filter(status=Investigation.Status.RUNNING, run_started_at__lt=dead)[
        :BATCH
    ]:
        with transaction.atomic():
            if investigation_requeue_dead_run(investigation, now=now, started_before=dead):
                task_send_on_commit("investigations.run_playbook", investigation.pk)
                counts["runs_recovered"] += 1

    for investigation_id in (
        Investigation.objects.filter(status=Investigation.Status.PENDING_ACTION)
        .exclude(actions__status__in=[s for s in Action.Status.values if s not in Action.TERMINAL_STATUSES])
        .values_list("pk", flat=True)[:BATCH]
    ):
        counts["settled"] += investigation_settle(investigation_id=investigation_id) is not None

    orphans = (
        Alert.objects.filter(
            status__in=[Alert.Status.NEW, Alert.Status.IN_PROGRESS],
            created_at__lt=now - limits["requeue_after"],
            investigations__isnull=True,
            identity__isnull=False,
        )
        .exclude(severity=Severity.INFORMATIONAL)
        .values_list("pk", flat=True)[:BATCH]
    )
    for alert_id in orphans:
        task_send_on_commit("investigations.correlate_alert", alert_id)
        counts["alerts_correlated"] += 1

    if any(counts.values()):
        logger.info("Sweep: %s", counts)
    return counts

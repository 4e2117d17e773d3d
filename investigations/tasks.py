"""Celery tasks of the investigations app: thin wrappers around services, by primary key."""

import logging
from datetime import datetime

from celery import shared_task

from investigations.services.investigations import (
    investigation_attach_alert,
    investigation_run_playbook,
    investigations_take_late_evidence,
)
from investigations.services.remediation import action_execute
from investigations.services.sweep import investigations_sweep, remediation_task_time_limit

logger = logging.getLogger(__name__)


@shared_task(name="investigations.correlate_alert", queue="playbook", ignore_result=True)
def correlate_alert(alert_id: int) -> None:
    """Put a raised alert into its identity's investigation (the receiver of ``alert_raised`` sends it)."""
    investigation_attach_alert(alert_id=alert_id)


@shared_task(name="investigations.take_late_evidence", queue="playbook", ignore_result=True)
def take_late_evidence(spans: dict[str, list[str]]) -> None:
    """Re-run (or reopen) the investigations whose window newly judged events fall in."""
    investigations_take_late_evidence(
        spans={
            int(pk): (datetime.fromisoformat(first), datetime.fromisoformat(last))
            for pk, (first, last) in spans.items()
        }
    )


@shared_task(
    bind=True,
    name="investigations.run_playbook",
    queue="playbook",
    ignore_result=True,
    retry_on_worker_lost=True,
    max_retries=3,
    default_retry_delay=2,
)
def run_playbook(self, investigation_id: int) -> None:
    """Run the playbook of a queued investigation; a no-op if another worker took it or it is gone.

    If the pool process running it dies (OOM killer, crash), Celery sends the task again (at most
    3 times) and that delivery takes the dead run over: this task never retries otherwise, so a
    retry means a lost process. A worker that dies whole is left to the sweep.
    """
    investigation_run_playbook(investigation_id=investigation_id, worker_lost=self.request.retries > 0)


@shared_task(
    bind=True,
    name="investigations.run_action",
    queue="remediate",
    acks_late=True,
    ignore_result=True,
    max_retries=None,
    time_limit=remediation_task_time_limit(),
    soft_time_limit=max(remediation_task_time_limit() - 10, 1),
)
def run_action(self, action_id: int) -> None:
    """Run an approved action exactly once; transient errors come back here after their delay.

    ``acks_late``: the message is acknowledged only after the action is settled, and a second
    delivery is harmless because only the worker whose conditional UPDATE claims the action acts.
    """
    delay = action_execute(action_id=action_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="investigations.sweep", queue="default", ignore_result=True)
def sweep() -> None:
    """Re-queue approved actions and playbook runs that were lost (broker down, worker killed)."""
    investigations_sweep()


# Celery autodiscovers each app's ``tasks`` module only: register the notifications' tasks with it.
from investigations.notifications import tasks as notification_tasks  # noqa: E402,F401

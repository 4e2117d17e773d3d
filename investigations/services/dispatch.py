"""Queueing Celery tasks after commit, without ever losing the decision that caused them.

If the broker is down when the transaction commits, sending fails: the error is logged and
the row keeps its state (``queued`` / ``approved`` with ``queued_at``), so the periodic sweep
(``investigations.sweep``) sends it again once the broker is back.
"""

import logging
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)


def _send(task_name: str, object_id: int, countdown: float | None = None) -> None:
    from investigations import tasks  # the tasks module imports the services: import late

    task = getattr(tasks, task_name)
    try:
        task.apply_async(args=(object_id,), countdown=countdown)
    except Exception:  # the broker is unreachable: the sweep re-sends it
        logger.warning("Could not queue %s(%s); the sweep will queue it again", task_name, object_id, exc_info=True)


def playbook_dispatch_on_commit(investigation_id: int) -> None:
    transaction.on_commit(partial(_send, "run_playbook", investigation_id))


def action_dispatch_on_commit(action_id: int, countdown: float | None = None) -> None:
    transaction.on_commit(partial(_send, "run_action", action_id, countdown))


def correlation_dispatch_on_commit(alert_id: int) -> None:
    transaction.on_commit(partial(_send, "correlate_alert", alert_id))

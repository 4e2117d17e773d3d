"""Starting background work: the one way any code queues a Celery task.

``task_send_on_commit("app.task_name", ...)`` sends the task *by name* once the current
transaction commits, so a rolled-back decision sends nothing and no module has to import a tasks
module (the import circles tasks ↔ services end here). The task's own options (queue, retries)
come from its registration. If the broker refuses the message, the error is logged and the caller
goes on: every piece of work that is sent this way leaves a sweepable trace in the database first
(an unjudged detection batch, a ``queued`` investigation, an ``approved`` action, an alert with no
investigation, a pending notification delivery), and a beat sweep sends it again.

``tasks_run_inline(queues=...)`` scopes eager execution to one caller: inside it, tasks of those
queues run in this process right after commit instead of being sent. ``manage.py ingest`` and
``loaddemo`` use it so detection, correlation and the playbook are done when they return.
"""

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery import Task
from django.db import transaction

from airportal.celery import app

logger = logging.getLogger(__name__)

# The queues of the judging pipeline: detection, then correlation and the playbook.
PIPELINE_QUEUES = ("detect", "playbook")

_inline_queues: ContextVar[frozenset[str]] = ContextVar("inline_queues", default=frozenset())
_tasks_import = threading.Lock()


def task_send_on_commit(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Queue task ``name`` after the current transaction commits (at once outside a transaction)."""

    def send() -> None:
        task_send(name, *args, countdown=countdown, **kwargs)

    send.__qualname__ = f"task_send_on_commit[{name}]"  # Django logs failing callbacks by this name
    transaction.on_commit(send)


def task_send(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send task ``name`` now; ``False`` when the broker refused it (logged: a sweep sends it again)."""
    task = _registered(name)
    if task.queue in _inline_queues.get():
        task.apply(args=args, kwargs=kwargs, throw=True)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
    except Exception:  # the broker is unreachable or refused the message
        logger.warning("Could not queue %s%r; a sweep will queue it again", name, args, exc_info=True)
        return False
    return True


def _registered(name: str) -> Task:
    """The task registered as ``name``; the apps' tasks modules are imported on first use.

    One thread imports them while the others wait: a second thread would otherwise find the
    modules already in ``sys.modules``, half executed, and look the task up before it is registered.
    """
    if name not in app.tasks:
        with _tasks_import:
            if name not in app.tasks:
                app.loader.import_default_modules()  # Celery's autodiscovery of every app's tasks.py
    return app.tasks[name]  # NotRegistered here is a programming error: let it raise


@contextmanager
def tasks_run_inline(*, queues: Iterable[str]) -> Iterator[None]:
    """Within the block, tasks of ``queues`` run in this process after commit instead of being sent."""
    token = _inline_queues.set(_inline_queues.get() | frozenset(queues))
    try:
        yield
    finally:
        _inline_queues.reset(token)

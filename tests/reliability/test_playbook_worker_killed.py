"""A worker killed (SIGKILL) in the middle of a playbook: the investigation runs again and completes.

Killed whole (a crashed machine), or only its pool processes (what the kernel's OOM killer
does: the worker's main process survives and forks new ones). To kill it at a known point, the
test holds an ACCESS EXCLUSIVE lock on the events table from its own connection: the playbook
has claimed the investigation (``running``, step logged) and waits to read the user's events.
"""

import os
import signal
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import Event
from investigations.models import Investigation
from investigations.services.investigations import investigation_attach_alert
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.conftest import wait_until
from tests.investigations.support import alert, bec_attack, identity
from tests.reliability.services import process_group

pytestmark = [pytest.mark.worker, pytest.mark.slow]
S = Investigation.Status


def _raw_connection():
    db = connection.settings_dict
    return psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"])


@contextmanager
def events_locked():
    """Nobody reads or writes the events table until the block ends (then the lock is released)."""
    conn = _raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Event._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        conn.rollback()
        conn.close()


def _waiting_for_the_events_lock() -> bool:
    conn = _raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0
    finally:
        conn.close()


def _kill_pool_processes(worker) -> None:
    main = worker.process.pid
    for pid in process_group(main):
        if pid != main:
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("killed", ["whole worker", "pool processes"])
def test_a_worker_killed_mid_playbook_leaves_the_investigation_to_run_again_and_complete(celery_worker_process, killed):
    megan = identity()
    bec_attack(megan)
    raised = alert(megan)

    with events_locked():
        investigation = investigation_attach_alert(alert_id=raised.pk)  # the worker gets it on commit
        wait_until(lambda: Investigation.objects.filter(pk=investigation.pk, status=S.RUNNING).exists(), timeout=60)
        wait_until(_waiting_for_the_events_lock, timeout=30)
        if killed == "whole worker":
            celery_worker_process.kill()
        else:
            _kill_pool_processes(celery_worker_process)
            wait_until(lambda: "WorkerLostError" in celery_worker_process.output(), timeout=30)

    investigation.refresh_from_db()
    assert investigation.status == S.RUNNING and investigation.run_count == 1
    assert not investigation.findings.exists() and not investigation.actions.exists()

    if killed == "whole worker":
        celery_worker_process.start()
    # The beat sweep, run here at a moment past the playbook's hard time limit: the first run is surely dead.
    later = timezone.now() + sweep_thresholds()["playbook_dead_after"] + timedelta(seconds=1)
    assert investigations_sweep(now=later)["runs_recovered"] == 1

    wait_until(lambda: Investigation.objects.filter(pk=investigation.pk, status=S.PENDING_ACTION).exists(), timeout=90)
    investigation.refresh_from_db()
    assert investigation.run_count == 2 and investigation.verdict == Investigation.Verdict.COMPROMISED
    keys = list(investigation.findings.values_list("check_key", flat=True))
    assert keys and len(keys) == len(set(keys))  # one finding per check, nothing from the killed run twice
    proposals = list(investigation.actions.values_list("kind", "target"))
    assert {"remove_inbox_rule", "disable_mailbox_forwarding"} <= {kind for kind, _ in proposals}
    assert len(proposals) == len(set(proposals))
    steps = list(investigation.steps.values_list("message", flat=True))
    assert sum("stopped; queued again" in step for step in steps) == 1
    assert sum("(run 2)" in step for step in steps) == 1
    # A second sweep finds nothing left to recover.
    assert investigations_sweep(now=later + timedelta(seconds=1))["runs_recovered"] == 0

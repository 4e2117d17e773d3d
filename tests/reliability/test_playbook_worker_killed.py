"""A worker killed (SIGKILL) in the middle of a playbook: the investigation runs again and completes.

Killed whole (a crashed machine), or only its pool processes (what the kernel's OOM killer
does: the worker's main process survives and forks new ones). To kill it at a known point, the
test holds an ACCESS EXCLUSIVE lock on the events table from its own connection: the playbook
has claimed the investigation (``running``, step logged) and waits to read the user's events.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Event
from investigations.models import Investigation
from investigations.services.investigations import investigation_attach_alert
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.conftest import wait_until
from tests.investigations.support import alert, bec_attack, identity
from tests.reliability.services import kill_pool_processes, table_locked, waiting_for_a_lock

pytestmark = [pytest.mark.worker, pytest.mark.slow]
S = Investigation.Status


@pytest.mark.parametrize("killed", ["whole worker", "pool processes"])
def test_a_worker_killed_mid_playbook_leaves_the_investigation_to_run_again_and_complete(celery_worker_process, killed):
    megan = identity()
    bec_attack(megan)
    raised = alert(megan)

    with table_locked(Event._meta.db_table):
        investigation = investigation_attach_alert(alert_id=raised.pk)  # the worker gets it on commit
        wait_until(lambda: Investigation.objects.filter(pk=investigation.pk, status=S.RUNNING).exists(), timeout=60)
        wait_until(waiting_for_a_lock, timeout=30)
        if killed == "whole worker":
            celery_worker_process.kill()
        else:
            kill_pool_processes(celery_worker_process)
            wait_until(lambda: "WorkerLostError" in celery_worker_process.output(), timeout=30)

    investigation.refresh_from_db()
    assert not investigation.findings.exists() and not investigation.actions.exists()
    later = timezone.now() + sweep_thresholds()["playbook_dead_after"] + timedelta(seconds=1)
    if killed == "whole worker":
        assert investigation.status == S.RUNNING and investigation.run_count == 1
        celery_worker_process.start()
        # The beat sweep, run here at a moment past the playbook's hard time limit: the first run is surely dead.
        assert investigations_sweep(now=later)["runs_recovered"] == 1
    # Else the worker's main process re-sends the task of its lost pool process, which takes the run over.

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

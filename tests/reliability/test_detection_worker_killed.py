"""A worker process killed (SIGKILL, as the OOM killer does) in the middle of detection: the batch is
judged again and the alert raised, not lost with the process.

To kill it at a known point, the test holds an ACCESS EXCLUSIVE lock on the alert policies
table: the detection task has started and waits to read the enabled policies.
"""

import pytest

from alerts.models import Alert, AlertPolicy
from alerts.pipeline import events_ingested
from tests.alerts.support.detection import T0, identity, rule_event
from tests.conftest import wait_until
from tests.reliability.services import kill_pool_processes, table_locked, waiting_for_a_lock

pytestmark = [pytest.mark.worker, pytest.mark.slow]
HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}


def test_detection_whose_worker_process_died_runs_again_and_raises_the_alert(celery_worker_process):
    event = rule_event(identity(), T0, HIDING_RULE)

    with table_locked(AlertPolicy._meta.db_table):
        events_ingested(event_ids=[event.pk])  # the ledger entry, then the task (autocommit: sent at once)
        wait_until(waiting_for_a_lock, timeout=30)
        kill_pool_processes(celery_worker_process)
        wait_until(lambda: "WorkerLostError" in celery_worker_process.output(), timeout=30)

    assert not Alert.objects.exists()
    wait_until(lambda: Alert.objects.filter(detector="suspicious_inbox_rule").exists(), timeout=60)
    assert list(Alert.objects.values_list("detector", flat=True)) == ["suspicious_inbox_rule"]
    assert set(Alert.objects.get().events.values_list("pk", flat=True)) == {event.pk}

"""Two detect processes: each identity's batches are still judged in ledger order, each once,
and every attack raises exactly one alert.

The tasks are sent in reverse ledger order, as a redelivery or a slow sender can reorder them:
a worker that judged what it received first would judge every identity's batches backwards.
"""

from datetime import timedelta

import pytest

from airportal.dispatch import task_send
from alerts.models import Alert, DetectionBatch
from alerts.pipeline import DETECT_TASK, detection_batches_enter
from tests.alerts.support.detection import T0, identity, rule_event
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]
HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}


def test_two_processes_judge_each_shard_in_ledger_order_and_alert_once(celery_worker_process, settings):
    settings.DETECTION_SHARDS = 2
    people = [identity(f"user{n}") for n in range(6)]
    entries, events = [], {who.pk: set() for who in people}
    for round_ in range(8):  # eight ingests, each with one rule event of everyone
        stored = [rule_event(who, T0 + timedelta(minutes=round_), HIDING_RULE) for who in people]
        for event in stored:
            events[event.identity_id].add(event.pk)
        entries += detection_batches_enter(event_ids=[event.pk for event in stored])
    for pk in reversed(entries):
        task_send(DETECT_TASK, pk)

    wait_until(lambda: not DetectionBatch.objects.filter(judged_at__isnull=True).exists(), timeout=120)
    assert "--concurrency=2" in " ".join(celery_worker_process.process.args)
    for shard in (0, 1):
        judged = list(DetectionBatch.objects.filter(shard=shard).order_by("pk").values_list("judged_at", flat=True))
        assert len(judged) == 8 and judged == sorted(judged)
    alerts = Alert.objects.filter(detector="suspicious_inbox_rule")
    assert sorted(alert.identity_id for alert in alerts) == sorted(events)  # one per identity
    for alert in alerts:
        assert set(alert.events.values_list("pk", flat=True)) == events[alert.identity_id]
    assert "Traceback" not in celery_worker_process.output()

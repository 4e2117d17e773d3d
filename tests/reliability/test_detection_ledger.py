"""No stored event is left unjudged: a broker outage during ingest, a worker killed mid-detection.

A private Redis and a worker that runs beat (as ``make run`` does), with the sweep every 3 s and a
batch counted lost 5 s after it was queued (production: 60 s each), so the test takes seconds;
the figures it prints are what docs/reliability.md reports. Nothing here retries on the client side.
"""

import json
import time

import pytest
from django.conf import settings
from django.test import Client

from alerts.models import Alert, AlertPolicy, DetectionBatch, Event
from tests.conftest import wait_until
from tests.reliability.conftest import broker_and_worker
from tests.reliability.services import table_locked, waiting_for_a_lock

pytestmark = [pytest.mark.worker, pytest.mark.slow]
INGEST = "/api/v1/ingest/events/"
HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}
FAST_SWEEP = {"DETECTION_SWEEP_SECONDS": "3", "DETECTION_LOST_AFTER_SECONDS": "5", "WORKER_HEARTBEAT_SECONDS": "2"}


@pytest.fixture
def stack(transactional_db, settings, tmp_path):
    with broker_and_worker(settings, tmp_path, beat=True, **FAST_SWEEP) as pair:
        yield pair


@pytest.fixture
def collector(ingest_user, bearer):
    client = Client()
    headers = bearer(ingest_user)

    def post(records) -> dict:
        response = client.post(INGEST, json.dumps(records), content_type="application/json", **headers)
        assert response.status_code == 200, response.content[:500]
        return response.json()

    return post


def hiding_rules(*users: str) -> list[dict]:
    return [
        {
            "id": f"rule-{user}",
            "user": f"{user}@contoso.com",
            "occurred_at": "2026-03-02T09:00:00Z",
            "kind": "inbox_rule_created",
            "operation": "New-InboxRule",
            "target": "..",
            "attributes": {"rule": HIDING_RULE},
        }
        for user in users
    ]


def rule_alerts() -> int:
    return Alert.objects.filter(detector="suspicious_inbox_rule").count()


def test_events_stored_while_the_broker_is_down_are_judged_once_it_is_back(stack, collector):
    redis, _ = stack
    redis.stop()
    started = time.monotonic()
    reply = collector(hiding_rules("megan", "lee"))
    print(f"\ningest with the broker down answered 200 in {time.monotonic() - started:.1f} s")
    assert (reply["created"], reply["duplicates"]) == (2, 0)
    identity_ids = Event.objects.values_list("identity_id", flat=True)
    shards = {identity_id % settings.DETECTION_SHARDS for identity_id in identity_ids}  # a ledger entry each
    assert Event.objects.count() == 2 and DetectionBatch.objects.filter(judged_at__isnull=True).count() == len(shards)

    repost = collector(hiding_rules("megan", "lee"))  # the client cannot know: it posts again
    assert (repost["created"], repost["duplicates"]) == (0, 2)
    assert Event.objects.count() == 2 and DetectionBatch.objects.count() == len(shards) and rule_alerts() == 0

    redis.start()
    back = time.monotonic()
    wait_until(lambda: rule_alerts() == 2, timeout=120)
    print(f"alerts raised {time.monotonic() - back:.1f} s after the broker came back (no client retry)")
    time.sleep(4)  # a further sweep finds nothing to do and raises nothing twice
    assert rule_alerts() == 2 and not DetectionBatch.objects.filter(judged_at__isnull=True).exists()


def test_detection_lost_with_a_killed_worker_is_judged_after_its_restart(stack, collector):
    _, worker = stack
    with table_locked(AlertPolicy._meta.db_table):  # detection starts, then waits to read the policies
        collector(hiding_rules("diego"))
        wait_until(waiting_for_a_lock, timeout=30)
        worker.kill()  # SIGKILL, whole worker: the message stays unacknowledged in Redis for an hour
    assert rule_alerts() == 0 and DetectionBatch.objects.filter(judged_at__isnull=True).count() == 1
    worker.start()
    restarted = time.monotonic()
    wait_until(lambda: rule_alerts() == 1, timeout=120)
    print(f"\nalert raised {time.monotonic() - restarted:.1f} s after the worker restarted")
    assert not DetectionBatch.objects.filter(judged_at__isnull=True).exists()


def test_healthz_is_503_once_no_worker_runs(stack, client, settings):
    _, worker = stack
    settings.WORKER_HEARTBEAT_SECONDS = 2
    wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30)
    worker.stop()
    stopped = time.monotonic()
    wait_until(lambda: client.get("/healthz").status_code == 503, timeout=30)
    print(f"\n/healthz degraded {time.monotonic() - stopped:.1f} s after the worker stopped (3 periods of 2 s)")
    assert client.get("/healthz").json()["worker"].startswith("down: no worker heartbeat for")

"""A real Celery round trip: a worker process, the configured broker, PostgreSQL."""

import pytest
from django.db import transaction

from airportal.models import WorkerHeartbeat
from airportal.tasks import heartbeat
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_task_dispatched_after_commit_runs_in_the_worker(celery_worker_process):
    with transaction.atomic():
        heartbeat.delay_on_commit("committed")
        assert not WorkerHeartbeat.objects.filter(hostname="committed").exists()
    wait_until(lambda: WorkerHeartbeat.objects.filter(hostname="committed").exists(), timeout=30)


def test_nothing_is_sent_when_the_transaction_rolls_back(celery_worker_process):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        heartbeat.delay_on_commit("rolled-back")
        raise Rollback
    heartbeat.delay_on_commit("marker")  # outside a transaction: sent at once
    wait_until(lambda: WorkerHeartbeat.objects.filter(hostname="marker").exists(), timeout=30)
    assert not WorkerHeartbeat.objects.filter(hostname="rolled-back").exists()

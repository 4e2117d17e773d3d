"""No approval is lost when the broker is down: it is kept, and runs once the broker is back.

This test stops a broker, so it runs its OWN redis-server on a spare port (never the shared
one) with its own worker attached to it.
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from investigations.models import Action
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.conftest import wait_until
from tests.reliability.support import connector_calls, settled

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_an_approval_made_while_the_broker_is_down_runs_when_it_is_back(private_broker, analyst, client):
    from tests.reliability.support import compromised_case

    redis, worker = private_broker
    action = compromised_case().actions.get(kind="revoke_sessions")

    redis.stop()
    client.force_login(analyst)
    started = time.monotonic()
    response = client.post(reverse("api_action_approve", args=[action.pk]), {}, content_type="application/json")
    assert response.status_code == 200  # the decision is committed even though the task could not be sent
    assert time.monotonic() - started < 15
    action.refresh_from_db()
    assert action.status == Action.Status.APPROVED and action.approved_by == analyst
    time.sleep(1)
    action.refresh_from_db()
    assert action.status == Action.Status.APPROVED and connector_calls(action) == 0  # nothing ran

    redis.start()
    wait_until(lambda: worker.output().count("Connected to redis://") >= 2, timeout=60)  # reconnected
    overdue = timezone.now() + sweep_thresholds()["requeue_after"] + timedelta(seconds=1)
    assert investigations_sweep(now=overdue)["actions_requeued"] == 1  # the beat sweep, run once here

    action = settled(action)
    assert action.status == Action.Status.SUCCEEDED and action.attempts == 1
    assert connector_calls(action) == 1

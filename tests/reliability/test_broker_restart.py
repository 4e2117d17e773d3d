"""Redis stopped and started while actions are approved and running: each ends succeeded, exactly once.

The broker is a redis-server of this test (no persistence: everything queued in it is lost
when it stops), with its own worker on the test database. Some actions are running when it
stops, some are approved while it is down, some after it is back. The simulated tenant
counts every connector call per idempotency key.
"""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demo.models import SimulatedFault
from investigations.models import Action
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.conftest import wait_until
from tests.reliability.support import audit_count, compromised_case, connector_calls, settled

pytestmark = [pytest.mark.worker, pytest.mark.slow]
A = Action.Status
SLOW = ("restrict_sending", "soft_delete_messages")  # still running when the broker stops


def _approve(client: Client, action: Action) -> float:
    """POST the approval; the seconds it took. The decision must be kept whatever the broker does."""
    started = time.monotonic()
    response = client.post(reverse("api_action_approve", args=[action.pk]), {}, content_type="application/json")
    assert response.status_code == 200, response.content
    return time.monotonic() - started


def test_every_action_approved_around_a_broker_restart_succeeds_exactly_once(private_broker, analyst, manager):
    redis, worker = private_broker
    actions = {a.kind: a for a in compromised_case().actions.all()}
    assert set(actions) >= {*SLOW, "revoke_sessions", "remove_inbox_rule", "disable_mailbox_forwarding"}
    assert {"reset_password", "disable_account"} <= set(actions)  # four-eyes kinds: two approvers
    for kind in SLOW:
        SimulatedFault.objects.create(kind=kind, mode=SimulatedFault.Mode.SLOW_BEFORE, delay_seconds=6)
    first, second = Client(), Client()
    first.force_login(analyst)
    second.force_login(manager)

    for kind in ("revoke_sessions", *SLOW):  # broker up
        _approve(first, actions[kind])
    slow = Action.objects.filter(kind__in=SLOW)
    # Both taken by the worker, at least one still running (each sleeps 6 s before it acts).
    wait_until(lambda: not slow.filter(status=A.APPROVED).exists() and slow.filter(status=A.RUNNING).exists(), 60)

    redis.stop()
    down = [_approve(first, actions[kind]) for kind in ("remove_inbox_rule", "disable_mailbox_forwarding")]
    down += [_approve(first, actions["reset_password"]), _approve(second, actions["reset_password"])]
    print(f"\napprovals while the broker was down answered in {', '.join(f'{s:.1f}' for s in down)} s")
    assert max(down) < 15
    # The running ones finish without the broker: the database is all they need.
    for kind in SLOW:
        assert settled(actions[kind]).status == A.SUCCEEDED
    waiting = Action.objects.filter(status=A.APPROVED).values_list("kind", flat=True)
    assert set(waiting) == {"remove_inbox_rule", "disable_mailbox_forwarding", "reset_password"}

    redis.start()
    wait_until(lambda: worker.output().count("Connected to redis://") >= 2, timeout=60)  # the worker is back
    overdue = timezone.now() + sweep_thresholds()["requeue_after"] + timedelta(seconds=1)
    assert investigations_sweep(now=overdue)["actions_requeued"] == 3  # the beat sweep, run once here
    _approve(first, actions["disable_account"])  # and one decided once the broker is back
    _approve(second, actions["disable_account"])

    for action in actions.values():
        done = settled(action)
        assert done.status == A.SUCCEEDED and done.attempts == 1, (done.kind, done.status, done.error)
    time.sleep(1)  # room for a stray duplicate to run
    leftover = investigations_sweep(now=overdue + timedelta(seconds=1))
    assert not any(leftover.values()), leftover  # nothing left to re-queue, recover or settle
    for action in actions.values():
        assert connector_calls(action) == 1, action.kind
        assert audit_count(action, "action.succeeded") == 1, action.kind

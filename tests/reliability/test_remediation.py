"""Remediation exactly once, with a real Celery worker, PostgreSQL and Redis.

The simulated connector counts every call it receives under an action's idempotency key
(``SimulatedOperation.calls``) and applies the change at most once, so these tests count
real connector calls, not mocks.
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Event
from demo.models import SimulatedAccount, SimulatedFault, SimulatedOperation
from investigations.models import Action
from investigations.services.actions import action_approve
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from investigations.tasks import run_action
from tests.conftest import wait_until
from tests.reliability.support import (
    audit_count,
    compromised_case,
    connector_calls,
    post_at_once,
    settled,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow]
A = Action.Status


def test_two_analysts_approving_at_once_make_one_connector_call(celery_worker_process, analyst, analyst2):
    action = compromised_case().actions.get(kind="revoke_sessions")
    url = reverse("api_action_approve", args=[action.pk])

    codes = post_at_once([(analyst, url, {"comment": "a"}), (analyst2, url, {"comment": "b"})])

    assert sorted(codes) == [200, 409]
    action = settled(action)
    assert action.status == A.SUCCEEDED and action.attempts == 1
    time.sleep(1)  # room for a stray second task to show up
    assert connector_calls(action) == 1
    assert audit_count(action, "action.approved") == 1 and audit_count(action, "action.started") == 1


def test_the_same_person_double_clicking_makes_one_connector_call(celery_worker_process, analyst):
    action = compromised_case().actions.get(kind="remove_inbox_rule")
    url = reverse("api_action_approve", args=[action.pk])

    codes = post_at_once([(analyst, url, {}), (analyst, url, {})])

    assert sorted(codes) == [200, 409]
    assert settled(action).status == A.SUCCEEDED
    time.sleep(1)
    assert connector_calls(action) == 1


def test_duplicate_task_delivery_makes_one_connector_call(celery_worker_process, analyst):
    action = compromised_case().actions.get(kind="restrict_sending")
    action_approve(action_id=action.pk, user=analyst)
    for _ in range(3):  # the broker delivering the same task again
        run_action.apply_async(args=(action.pk,))

    action = settled(action)
    time.sleep(2)
    assert action.status == A.SUCCEEDED and action.attempts == 1
    assert connector_calls(action) == 1
    assert audit_count(action, "action.started") == 1 and audit_count(action, "action.succeeded") == 1


@pytest.mark.parametrize("moment", [SimulatedFault.Mode.SLOW_BEFORE, SimulatedFault.Mode.SLOW_AFTER])
def test_a_worker_killed_mid_action_leaves_it_succeeded_exactly_once(celery_worker_process, analyst, moment):
    """Killed before the tenant changed, or after it changed but before the result was recorded."""
    action = compromised_case().actions.get(kind="restrict_sending")
    SimulatedFault.objects.create(kind="restrict_sending", mode=moment, delay_seconds=60)
    action_approve(action_id=action.pk, user=analyst)
    wait_until(lambda: SimulatedOperation.objects.filter(idempotency_key=action.idempotency_key).exists(), timeout=30)
    if moment == SimulatedFault.Mode.SLOW_AFTER:
        wait_until(
            lambda: SimulatedOperation.objects.filter(
                idempotency_key=action.idempotency_key, applied_at__isnull=False
            ).exists(),
            timeout=30,
        )
    time.sleep(0.5)

    celery_worker_process.kill()
    action.refresh_from_db()
    assert action.status == A.RUNNING
    celery_worker_process.start()
    # Later than the task's hard time limit: the first worker is certainly gone.
    assert (
        investigations_sweep(now=timezone.now() + sweep_thresholds()["action_dead_after"] + timedelta(seconds=1))[
            "actions_recovered"
        ]
        == 1
    )

    action = settled(action)
    operation = SimulatedOperation.objects.get(idempotency_key=action.idempotency_key)
    assert action.status == A.SUCCEEDED and action.attempts == 2
    assert operation.calls == 2 and operation.applied_at is not None
    assert action.result["already_done"] is (moment == SimulatedFault.Mode.SLOW_AFTER)
    assert SimulatedAccount.objects.get(identity=action.identity).sending_restricted
    assert Event.objects.filter(kind=Event.Kind.REMEDIATION, attributes__action_id=action.pk).count() == 1
    assert audit_count(action, "action.succeeded") == 1


def test_throttled_with_retry_after_then_ok_succeeds_after_the_wait(celery_worker_process, analyst):
    action = compromised_case().actions.get(kind="disable_mailbox_forwarding")
    SimulatedFault.objects.create(
        kind="disable_mailbox_forwarding", mode=SimulatedFault.Mode.THROTTLE, retry_after=2, remaining=1
    )
    action_approve(action_id=action.pk, user=analyst)

    action = settled(action, timeout=60)
    assert action.status == A.SUCCEEDED and action.attempts == 2 and action.error == ""
    assert connector_calls(action) == 2
    from airportal.models import AuditEntry

    starts = list(
        AuditEntry.objects.filter(object_id=str(action.pk), verb="action.started")
        .order_by("id")
        .values_list("occurred_at", flat=True)
    )
    assert (starts[1] - starts[0]).total_seconds() >= 2  # Retry-After honoured
    assert audit_count(action, "action.retry_scheduled") == 1
    assert SimulatedAccount.objects.get(identity=action.identity).forwarding_address == ""


def test_a_permanent_refusal_fails_with_the_message_shown(celery_worker_process, analyst, client, bearer):
    action = compromised_case().actions.get(kind="disable_mailbox_forwarding")
    SimulatedFault.objects.create(
        kind="disable_mailbox_forwarding",
        mode=SimulatedFault.Mode.REFUSE,
        message="403 Forbidden: the app lacks Exchange.ManageAsApp",
    )
    action_approve(action_id=action.pk, user=analyst)

    action = settled(action)
    assert action.status == A.FAILED and action.attempts == 1
    assert connector_calls(action) == 1
    shown = client.get(reverse("api_action_detail", args=[action.pk]), **bearer(analyst)).json()
    assert shown["status"] == "failed" and shown["error"] == "403 Forbidden: the app lacks Exchange.ManageAsApp"


def test_four_eyes_refuses_the_same_person_twice_and_runs_with_two(celery_worker_process, analyst, manager, client):
    action = compromised_case().actions.get(kind="disable_account")
    url = reverse("api_action_approve", args=[action.pk])
    client.force_login(analyst)
    assert client.post(url, {}, content_type="application/json").status_code == 200
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code == 403
    time.sleep(1)
    action.refresh_from_db()
    assert action.status == A.PENDING_APPROVAL and connector_calls(action) == 0

    client.force_login(manager)
    assert client.post(url, {}, content_type="application/json").status_code == 200
    action = settled(action)
    assert action.status == A.SUCCEEDED and (action.approved_by, action.second_approved_by) == (analyst, manager)
    assert not SimulatedAccount.objects.get(identity=action.identity).enabled
    assert connector_calls(action) == 1

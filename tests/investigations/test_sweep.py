"""The sweep re-queues what was lost: approved actions never started, actions and runs whose worker died."""

from datetime import timedelta

import pytest
from django.utils import timezone

from demo.models import SimulatedOperation
from investigations.models import Action, Investigation
from investigations.services.actions import action_approve, action_claim
from investigations.services.investigations import investigation_attach_alert, investigation_claim
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.investigations.support import alert, bec_attack, identity, investigate

pytestmark = pytest.mark.django_db
A = Action.Status


@pytest.fixture
def megan_case(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    return investigate(megan, django_capture_on_commit_callbacks)


def later(key: str):
    return timezone.now() + sweep_thresholds()[key] + timedelta(seconds=1)


def test_an_approval_whose_task_was_lost_runs_after_the_sweep(megan_case, analyst, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="revoke_sessions")
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got the task
        action_approve(action_id=action.pk, user=analyst)

    with django_capture_on_commit_callbacks(execute=True):
        assert investigations_sweep()["actions_requeued"] == 0  # not overdue yet: its task may still come
        counts = investigations_sweep(now=later("requeue_after"))

    assert counts["actions_requeued"] == 1
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED and action.attempts == 1


def test_an_action_whose_worker_died_is_taken_over_once(megan_case, analyst, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="restrict_sending")
    with django_capture_on_commit_callbacks(execute=False):
        action_approve(action_id=action.pk, user=analyst)
    action_claim(action_id=action.pk, connector="simulated", max_attempts=5)  # then the worker is killed

    with django_capture_on_commit_callbacks(execute=True):
        assert investigations_sweep()["actions_recovered"] == 0  # it may still be running
        counts = investigations_sweep(now=later("action_dead_after"))

    assert counts["actions_recovered"] == 1
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED and action.attempts == 2
    assert SimulatedOperation.objects.get(idempotency_key=action.idempotency_key).calls == 1


def test_a_playbook_run_whose_worker_died_runs_again(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_attach_alert(alert_id=alert(megan).pk)
    investigation_claim(investigation_id=investigation.pk)  # the worker dies mid-run

    with django_capture_on_commit_callbacks(execute=True):
        counts = investigations_sweep(now=later("playbook_dead_after"))

    investigation.refresh_from_db()
    assert counts["runs_recovered"] == 1
    assert investigation.status == Investigation.Status.PENDING_ACTION and investigation.run_count == 2


def test_a_queued_run_that_never_started_is_sent_again(django_capture_on_commit_callbacks):
    megan = identity()
    bec_attack(megan)
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_attach_alert(alert_id=alert(megan).pk)

    with django_capture_on_commit_callbacks(execute=True):
        counts = investigations_sweep(now=later("requeue_after"))

    investigation.refresh_from_db()
    assert counts["runs_requeued"] == 1 and investigation.status == Investigation.Status.PENDING_ACTION


def test_two_sweeps_send_a_lost_action_once(megan_case, analyst, django_capture_on_commit_callbacks):
    action = megan_case.actions.get(kind="revoke_sessions")
    with django_capture_on_commit_callbacks(execute=False):
        action_approve(action_id=action.pk, user=analyst)
    moment = later("requeue_after")
    with django_capture_on_commit_callbacks(execute=False) as sent:
        first = investigations_sweep(now=moment)
        second = investigations_sweep(now=moment)
    assert (first["actions_requeued"], second["actions_requeued"]) == (1, 0)
    assert len(sent) == 1


def test_the_sweep_settles_an_investigation_whose_actions_are_all_decided(megan_case):
    Action.objects.filter(investigation=megan_case).update(status=A.SUCCEEDED)  # as if a settle was missed
    assert investigations_sweep()["settled"] == 1
    megan_case.refresh_from_db()
    assert megan_case.status == Investigation.Status.REMEDIATED


def test_an_alert_raised_while_the_broker_was_down_reaches_an_investigation_through_the_sweep(
    django_capture_on_commit_callbacks,
):
    from tests.factories import AlertFactory

    orphan = AlertFactory(severity="high")  # raised, but its correlate task was never delivered
    quiet = AlertFactory(severity="informational")
    AlertFactory(severity="high", identity=None, detector="external_alert")  # about no user: nothing to correlate
    assert not Investigation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        counts = investigations_sweep(now=later("requeue_after"))
    assert counts["alerts_correlated"] == 1
    assert list(Investigation.objects.get().alerts.all()) == [orphan]
    assert not quiet.investigations.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert investigations_sweep(now=later("requeue_after"))["alerts_correlated"] == 0

"""Approved actions run through the simulated connector: state changes, retries, failures, undo."""

import pytest

from alerts.models import Event
from demo.models import SimulatedAccount, SimulatedFault, SimulatedMessage, SimulatedOperation
from demo.selectors import simulated_tenant_state
from investigations.models import Action, Investigation
from investigations.services.actions import action_approve, action_reject, action_undo
from investigations.services.remediation import action_execute, retry_delay
from tests.investigations.support import bec_attack, identity, investigate

pytestmark = pytest.mark.django_db
A = Action.Status


@pytest.fixture
def megan(django_capture_on_commit_callbacks):
    who = identity()
    bec_attack(who)
    who.investigation = investigate(who, django_capture_on_commit_callbacks)
    return who


def approve(action, user, capture):
    with capture(execute=True):
        action_approve(action_id=action.pk, user=user)
    action.refresh_from_db()
    return action


def calls(action) -> int:
    return SimulatedOperation.objects.get(idempotency_key=action.idempotency_key).calls


def test_tenant_mirrors_what_ingestion_saw(megan):
    state = simulated_tenant_state(identity=megan)
    assert state["forwarding_address"] == "megan.finance@gmail.com"
    assert state["inbox_rules"] == [".."]
    assert state["active_sessions"] == 2  # home and Lagos
    colleague = identity("colleague0")
    assert simulated_tenant_state(identity=colleague)["messages"] == 1  # the phishing mail


def test_approving_runs_the_action_and_changes_the_tenant(megan, analyst, django_capture_on_commit_callbacks):
    action = megan.investigation.actions.get(kind="remove_inbox_rule")
    action = approve(action, analyst, django_capture_on_commit_callbacks)

    assert action.status == A.SUCCEEDED and action.attempts == 1 and action.connector == "simulated"
    assert action.result["detail"] == "Removed inbox rule '..' from megan.bowen@contoso.com."
    assert action.result["undo_state"]["rule"]["parameters"]["move_to_folder"] == "RSS Feeds"
    assert simulated_tenant_state(identity=megan)["inbox_rules"] == []
    assert calls(action) == 1
    timeline = Event.objects.get(kind=Event.Kind.REMEDIATION, identity=megan)
    assert timeline.operation == "remove_inbox_rule" and timeline.attributes["action_id"] == action.pk


def test_each_kind_changes_its_part_of_the_tenant(megan, analyst, manager, django_capture_on_commit_callbacks):
    for action in megan.investigation.actions.all():
        approve(action, analyst, django_capture_on_commit_callbacks)
        if action.requires_second_approval:
            approve(action, manager, django_capture_on_commit_callbacks)
    assert set(megan.investigation.actions.values_list("status", flat=True)) == {A.SUCCEEDED}
    account = SimulatedAccount.objects.get(identity=megan)
    assert not account.enabled and account.sending_restricted and account.forwarding_address == ""
    assert account.password_changed_at is not None
    assert not account.sessions.filter(revoked_at__isnull=True).exists()
    assert SimulatedMessage.objects.filter(sender=megan.upn, soft_deleted_at__isnull=False).count() == 5
    megan.investigation.refresh_from_db()
    assert megan.investigation.status == Investigation.Status.REMEDIATED
    assert Event.objects.filter(kind=Event.Kind.REMEDIATION, identity=megan).count() == 7


def test_throttled_call_is_retried_after_retry_after(megan, analyst, django_capture_on_commit_callbacks):
    SimulatedFault.objects.create(mode=SimulatedFault.Mode.THROTTLE, retry_after=7, remaining=1)
    action = megan.investigation.actions.get(kind="revoke_sessions")
    with django_capture_on_commit_callbacks(execute=False):
        action_approve(action_id=action.pk, user=analyst)

    delay = action_execute(action_id=action.pk)
    action.refresh_from_db()
    assert delay == 7
    assert action.status == A.APPROVED and action.attempts == 1 and "429" in action.error
    assert (action.queued_at - action.started_at).total_seconds() >= 6.9  # due after Retry-After

    assert action_execute(action_id=action.pk) is None
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED and action.attempts == 2 and action.error == ""
    assert calls(action) == 2
    assert SimulatedOperation.objects.get(idempotency_key=action.idempotency_key).applied_at is not None


def test_permanent_refusal_fails_with_the_message(megan, analyst, django_capture_on_commit_callbacks):
    SimulatedFault.objects.create(
        kind="disable_mailbox_forwarding", mode=SimulatedFault.Mode.REFUSE, message="403 Forbidden: no Exchange role"
    )
    action = megan.investigation.actions.get(kind="disable_mailbox_forwarding")
    action = approve(action, analyst, django_capture_on_commit_callbacks)

    assert action.status == A.FAILED and action.error == "403 Forbidden: no Exchange role"
    assert action.attempts == 1 and action.finished_at is not None
    assert simulated_tenant_state(identity=megan)["forwarding_address"] == "megan.finance@gmail.com"


def test_transient_errors_give_up_after_the_attempt_cap(megan, analyst, settings, django_capture_on_commit_callbacks):
    settings.REMEDIATION_MAX_ATTEMPTS = 3
    SimulatedFault.objects.create(mode=SimulatedFault.Mode.UNAVAILABLE, remaining=10)
    action = megan.investigation.actions.get(kind="revoke_sessions")
    with django_capture_on_commit_callbacks(execute=False):
        action_approve(action_id=action.pk, user=analyst)
    delays = [action_execute(action_id=action.pk) for _ in range(4)]

    action.refresh_from_db()
    assert delays[:2] != [None, None] and delays[2:] == [None, None]
    assert action.status == A.FAILED and action.attempts == 3
    assert "503" in action.error and "gave up after 3 attempts" in action.error


def test_a_failed_approved_action_makes_the_investigation_partial(megan, analyst, django_capture_on_commit_callbacks):
    SimulatedFault.objects.create(kind="restrict_sending", mode=SimulatedFault.Mode.REFUSE)
    for action in megan.investigation.actions.all():
        if action.kind == "restrict_sending":
            approve(action, analyst, django_capture_on_commit_callbacks)
        else:
            action_reject(action_id=action.pk, user=analyst, comment="handled by hand")
    megan.investigation.refresh_from_db()
    assert megan.investigation.status == Investigation.Status.PARTIALLY_REMEDIATED


def test_duplicate_execution_calls_the_connector_once(megan, analyst, django_capture_on_commit_callbacks):
    action = megan.investigation.actions.get(kind="revoke_sessions")
    approve(action, analyst, django_capture_on_commit_callbacks)
    assert action_execute(action_id=action.pk) is None  # a redelivered task
    assert calls(action) == 1


def test_connector_answers_a_repeated_key_from_its_record(megan, analyst, django_capture_on_commit_callbacks):
    """A worker killed after the tenant changed but before the action was recorded: the retry is safe."""
    action = megan.investigation.actions.get(kind="restrict_sending")
    with django_capture_on_commit_callbacks(execute=False):
        action_approve(action_id=action.pk, user=analyst)
    from demo.connector import SimulatedConnector

    SimulatedConnector().run(action)  # the tenant acted; the worker "died" before recording it
    assert action_execute(action_id=action.pk) is None
    action.refresh_from_db()
    assert action.status == A.SUCCEEDED and action.result["already_done"] is True
    assert calls(action) == 2
    assert SimulatedAccount.objects.get(identity=megan).sending_restricted


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("remove_inbox_rule", lambda state: state["inbox_rules"] == [".."]),
        ("disable_mailbox_forwarding", lambda state: state["forwarding_address"] == "megan.finance@gmail.com"),
        ("restrict_sending", lambda state: state["sending_restricted"] is False),
        ("disable_account", lambda state: state["enabled"] is True),
    ],
)
def test_undo_restores_what_the_action_changed(
    megan, analyst, manager, kind, check, django_capture_on_commit_callbacks
):
    action = megan.investigation.actions.get(kind=kind)
    approve(action, analyst, django_capture_on_commit_callbacks)
    if action.status == A.PENDING_APPROVAL:
        approve(action, manager, django_capture_on_commit_callbacks)
    assert not check(simulated_tenant_state(identity=megan))

    with django_capture_on_commit_callbacks(execute=True):
        undo = action_undo(action_id=action.pk, user=analyst, comment="false positive")
    undo.refresh_from_db()
    action.refresh_from_db()
    assert undo.status == A.SUCCEEDED and action.status == A.UNDONE
    assert check(simulated_tenant_state(identity=megan))
    assert Event.objects.filter(kind=Event.Kind.REMEDIATION, operation=f"undo_{kind}").count() == 1


def test_soft_deleted_messages_come_back_on_undo(megan, analyst, django_capture_on_commit_callbacks):
    action = approve(
        megan.investigation.actions.get(kind="soft_delete_messages"), analyst, django_capture_on_commit_callbacks
    )
    assert action.result["data"] == {"messages": 5, "mailboxes": 5, "read_back": {"still_there": []}}
    with django_capture_on_commit_callbacks(execute=True):
        action_undo(action_id=action.pk, user=analyst)
    assert not SimulatedMessage.objects.filter(soft_deleted_at__isnull=False).exists()


def test_retry_delay_honours_retry_after_and_the_cap():
    assert retry_delay(attempt=1, retry_after=30, first=2, cap=300) == 30
    assert retry_delay(attempt=1, retry_after=3600, first=2, cap=300) == 300
    assert 1.6 <= retry_delay(attempt=1, retry_after=None, first=2, cap=300) <= 2.4
    assert 12.8 <= retry_delay(attempt=4, retry_after=None, first=2, cap=300) <= 19.2
    assert retry_delay(attempt=20, retry_after=None, first=2, cap=300) == 300

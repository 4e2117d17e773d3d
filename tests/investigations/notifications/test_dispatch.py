"""Notifications are sent once per event and rule, retried on failure, capped per day.

The receiver is a real HTTP server on 127.0.0.1 (the rule's admin-set "allow private" flag lets
the portal post to it); tasks run eagerly, so each retry happens at once, in order.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, Severity
from alerts.signals import alert_raised
from investigations.models import Action, Investigation, NotificationDelivery, NotificationEvent, NotificationRule
from investigations.notifications.services import notification_event_dispatch, notifications_sweep
from investigations.services.actions import action_fail
from investigations.services.investigation_status import investigation_transition
from tests.factories import ActionFactory, AlertFactory, InvestigationFactory

pytestmark = pytest.mark.django_db(transaction=False)
D = NotificationDelivery.Status


def raise_alert(capture, alert, *, created=True):
    """What detection does: announce the alert inside its transaction; receivers act after commit."""
    with capture(execute=True), transaction.atomic():
        alert_raised.send(sender=Alert, alert=alert, created=created)


@pytest.fixture
def quiet_playbook(monkeypatch):
    """Only the notification receiver listens: the correlation receiver is another helper's business."""
    from investigations import receivers

    alert_raised.disconnect(receivers.on_alert_raised, dispatch_uid="investigations.alert_raised")
    yield
    alert_raised.connect(receivers.on_alert_raised, dispatch_uid="investigations.alert_raised")


def test_high_severity_alert_is_notified_once_per_rule(
    webhook_rule, receiver, admin_user, quiet_playbook, django_capture_on_commit_callbacks
):
    webhook_rule(events=[NotificationEvent.ALERT_HIGH])
    webhook_rule(
        name="On-call mail",
        channel="email",
        url="",
        recipients=["soc@contoso.com"],
        events=[NotificationEvent.ALERT_HIGH],
    )
    alert = AlertFactory(severity=Severity.HIGH, title="Forwarding to attacker@evil.example")
    raise_alert(django_capture_on_commit_callbacks, alert)
    raise_alert(django_capture_on_commit_callbacks, alert, created=False)  # a repeat folded into it
    assert len(receiver.requests) == 1
    body = receiver.bodies()[0]
    assert body["event"] == "alert_high"
    assert body["title"] == "High-severity alert: Forwarding to attacker@evil.example"
    assert body["url"].endswith(f"/alerts/{alert.pk}/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["soc@contoso.com"]
    assert "Forwarding to attacker@evil.example" in mail.outbox[0].subject
    assert list(NotificationDelivery.objects.values_list("status", flat=True)) == [D.SENT, D.SENT]


def test_a_high_alert_about_no_user_is_notified_with_its_device(
    webhook_rule, receiver, django_capture_on_commit_callbacks
):
    webhook_rule(events=[NotificationEvent.ALERT_HIGH])
    alert = AlertFactory(
        identity=None,
        detector="external_alert",
        severity=Severity.HIGH,
        title="Ransomware behavior on laptop-17",
        evidence={"devices": ["laptop-17.contoso.com"]},
    )
    raise_alert(django_capture_on_commit_callbacks, alert)
    body = receiver.bodies()[0]
    assert body["title"] == "High-severity alert: Ransomware behavior on laptop-17"
    assert body["text"].startswith("No user: ")
    assert (body["details"]["user"], body["details"]["subjects"]) == (None, ["laptop-17.contoso.com"])
    assert not Investigation.objects.exists()


def test_lower_severity_alerts_are_not_notified(
    webhook_rule, receiver, quiet_playbook, django_capture_on_commit_callbacks
):
    webhook_rule()
    for severity in (Severity.MEDIUM, Severity.LOW, Severity.INFORMATIONAL):
        raise_alert(django_capture_on_commit_callbacks, AlertFactory(severity=severity))
    assert receiver.requests == []
    assert not NotificationDelivery.objects.exists()


def test_rolled_back_event_is_not_notified(webhook_rule, receiver, quiet_playbook, django_capture_on_commit_callbacks):
    webhook_rule()
    alert = AlertFactory(severity=Severity.HIGH)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        alert_raised.send(sender=Alert, alert=alert, created=True)
        raise RuntimeError("detection failed after announcing")
    assert receiver.requests == []


def test_investigation_waiting_for_approval_is_notified_once_per_run(
    webhook_rule, receiver, django_capture_on_commit_callbacks
):
    webhook_rule(events=[NotificationEvent.INVESTIGATION_PENDING_ACTION])
    investigation = InvestigationFactory(status=Investigation.Status.RUNNING, run_count=1)
    ActionFactory(investigation=investigation)
    with django_capture_on_commit_callbacks(execute=True):
        assert investigation_transition(investigation, verb="finish", to=Investigation.Status.PENDING_ACTION)
    # A second playbook run that ends pending again is a new event; the same run is not.
    with django_capture_on_commit_callbacks(execute=True):
        investigation_transition(investigation, verb="rerun", to=Investigation.Status.QUEUED)
        Investigation.objects.filter(pk=investigation.pk).update(status="running", run_count=2)
        investigation.run_count = 2
        investigation.status = "running"
        investigation_transition(investigation, verb="finish", to=Investigation.Status.PENDING_ACTION)
    # The same event dispatched again (a redelivered task, a second worker) is a no-op.
    notification_event_dispatch(
        event=NotificationEvent.INVESTIGATION_PENDING_ACTION, object_id=investigation.pk, occurrence="2"
    )
    keys = list(NotificationDelivery.objects.order_by("id").values_list("event_key", flat=True))
    assert keys == [
        f"investigation_pending_action:{investigation.pk}:1",
        f"investigation_pending_action:{investigation.pk}:2",
    ]
    assert len(receiver.requests) == 2
    assert "1 action(s) wait for approval" in receiver.bodies()[0]["text"]


def test_failed_action_is_notified_with_its_error(webhook_rule, receiver, django_capture_on_commit_callbacks):
    webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    action = ActionFactory(kind=Action.Kind.DISABLE_ACCOUNT, status=Action.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        assert action_fail(action=action, error="Graph answered 403: Authorization_RequestDenied")
    [body] = receiver.bodies()
    assert body["event"] == "action_failed"
    assert body["title"].startswith("Action failed: Disable account")
    assert body["text"] == "Graph answered 403: Authorization_RequestDenied"


def test_transient_failures_are_retried_until_sent(
    webhook_rule, receiver, admin_user, django_capture_on_commit_callbacks
):
    rule = webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    receiver.fail_next(503, 429, headers={"Retry-After": "1"})
    action = ActionFactory(status=Action.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=action, error="boom")
    delivery = NotificationDelivery.objects.get(rule=rule)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (D.SENT, 3, 200)
    assert delivery.error == ""
    assert len(receiver.requests) == 3
    assert len({request["body"] for request in receiver.requests}) == 1  # the same message each time


def test_permanent_refusal_is_not_retried(webhook_rule, receiver, django_capture_on_commit_callbacks):
    rule = webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    receiver.fail_next(400)
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(status=Action.Status.RUNNING), error="boom")
    delivery = NotificationDelivery.objects.get(rule=rule)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (D.FAILED, 1, 400)
    assert delivery.error.startswith("HTTP 400")
    assert len(receiver.requests) == 1


def test_gives_up_after_the_last_attempt(webhook_rule, receiver, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    rule = webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    receiver.fail_next(503, 503, 503, 503, 503)
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(status=Action.Status.RUNNING), error="boom")
    delivery = NotificationDelivery.objects.get(rule=rule)
    assert (delivery.status, delivery.attempts) == (D.FAILED, 3)
    assert "gave up after 3 attempts" in delivery.error
    assert len(receiver.requests) == 3


def test_unreachable_receiver_is_retried_then_failed(webhook_rule, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    rule = webhook_rule(url="http://127.0.0.1:9/closed", events=[NotificationEvent.ACTION_FAILED])
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(status=Action.Status.RUNNING), error="boom")
    delivery = NotificationDelivery.objects.get(rule=rule)
    assert (delivery.status, delivery.attempts) == (D.FAILED, 2)
    assert delivery.error.startswith("Network:")


def test_daily_cap_records_but_does_not_send(
    webhook_rule, receiver, quiet_playbook, django_capture_on_commit_callbacks
):
    webhook_rule(events=[NotificationEvent.ALERT_HIGH], daily_cap=2)
    for _ in range(3):
        raise_alert(django_capture_on_commit_callbacks, AlertFactory(severity=Severity.HIGH))
    assert sorted(NotificationDelivery.objects.values_list("status", flat=True)) == [D.CAPPED, D.SENT, D.SENT]
    assert len(receiver.requests) == 2


def test_disabled_rule_sends_nothing(webhook_rule, receiver, quiet_playbook, django_capture_on_commit_callbacks):
    webhook_rule(enabled=False)
    raise_alert(django_capture_on_commit_callbacks, AlertFactory(severity=Severity.HIGH))
    assert receiver.requests == []


def test_sweep_notifies_actions_past_sla_once(webhook_rule, receiver, django_capture_on_commit_callbacks):
    webhook_rule(events=[NotificationEvent.ACTION_PAST_SLA])
    late = ActionFactory(kind=Action.Kind.RESET_PASSWORD)
    ActionFactory(kind=Action.Kind.REVOKE_SESSIONS)  # within the SLA
    Action.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(minutes=90))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notifications_sweep()
    assert [body["details"]["action"] for body in receiver.bodies()] == [late.pk]
    assert receiver.bodies()[0]["title"].startswith("Waiting for approval for 90 min: Reset password")


def test_sweep_requeues_a_delivery_whose_message_was_lost(webhook_rule, receiver, django_capture_on_commit_callbacks):
    rule = webhook_rule()
    delivery = NotificationDelivery.objects.create(
        rule=rule, event="test", event_key="test:lost", payload={"title": "t", "text": "x", "url": "u"}
    )
    NotificationDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_sweep()["requeued"] == 1
    delivery.refresh_from_db()
    assert delivery.status == D.SENT
    assert len(receiver.requests) == 1


def test_secret_headers_reach_the_receiver(webhook_rule, receiver, django_capture_on_commit_callbacks):
    webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(status=Action.Status.RUNNING), error="boom")
    [request] = receiver.requests
    assert request["headers"]["Authorization"] == "Bearer hook-secret-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["path"] == "/hook/secret-path"


def test_address_is_checked_again_at_send_time(webhook_rule, receiver, django_capture_on_commit_callbacks):
    rule = webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    NotificationRule.objects.filter(pk=rule.pk).update(allow_private=False)  # e.g. DNS now answers 127.0.0.1
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(status=Action.Status.RUNNING), error="boom")
    delivery = NotificationDelivery.objects.get(rule=rule)
    assert delivery.status == D.FAILED
    assert "must start with https://" in delivery.error  # plain http was only allowed towards a private host
    assert receiver.requests == []

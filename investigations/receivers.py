"""Receivers of other apps' signals. They only schedule work for after the commit."""

from django.dispatch import receiver

from airportal.dispatch import task_send_on_commit
from alerts.signals import alert_raised, events_judged


@receiver(alert_raised, dispatch_uid="investigations.alert_raised")
def on_alert_raised(sender, alert, created=True, **kwargs) -> None:
    """After commit, put the alert into its identity's investigation (a ``playbook``-queue task).

    If the broker refuses the task, the alert stays without an investigation and the
    investigations sweep correlates it later. An alert about no user has no investigation.
    """
    if alert.identity_id is not None:
        task_send_on_commit("investigations.correlate_alert", alert.pk)


@receiver(events_judged, dispatch_uid="investigations.events_judged")
def on_events_judged(sender, spans, **kwargs) -> None:
    """After commit, let investigations whose window the judged events fall in run again."""
    task_send_on_commit(
        "investigations.take_late_evidence",
        {str(identity_id): [first.isoformat(), last.isoformat()] for identity_id, (first, last) in spans.items()},
    )

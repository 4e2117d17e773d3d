"""Receivers of other apps' signals. They only schedule work after commit, never do it inline."""

from functools import partial

from django.db import transaction
from django.dispatch import receiver

from alerts.signals import alert_raised


def _correlate(alert_id: int) -> None:
    from investigations.tasks import correlate_alert

    correlate_alert.delay(alert_id)


@receiver(alert_raised, dispatch_uid="investigations.alert_raised")
def on_alert_raised(sender, alert, created=True, **kwargs) -> None:
    """A new or folded alert: after commit, put it into its identity's investigation."""
    transaction.on_commit(partial(_correlate, alert.pk), robust=True)

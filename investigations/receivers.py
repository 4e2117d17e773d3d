"""Receivers of other apps' signals. They only schedule work for after the commit."""

from django.db import transaction
from django.dispatch import receiver

from alerts.signals import alert_raised


def _correlate(alert_id: int) -> None:
    from investigations.tasks import correlate_alert

    correlate_alert.delay(alert_id)


def _correlate_inline(alert_id: int) -> None:
    from investigations.services.investigations import investigation_attach_alert, investigation_run_playbook

    investigation = investigation_attach_alert(alert_id=alert_id)
    if investigation is not None:
        investigation_run_playbook(investigation_id=investigation.pk)


@receiver(alert_raised, dispatch_uid="investigations.alert_raised")
def on_alert_raised(sender, alert, created=True, inline=False, **kwargs) -> None:
    """After commit, put the alert into its identity's investigation.

    ``inline`` (``manage.py ingest``): correlate and run the playbook in this process, so the
    command returns with investigations done; otherwise a ``playbook``-queue task does it.
    """
    alert_id = alert.pk

    # Named callbacks, not functools.partial: Django logs a failing robust callback by __qualname__.
    def correlate_inline() -> None:
        _correlate_inline(alert_id)

    def correlate() -> None:
        _correlate(alert_id)

    if inline:
        transaction.on_commit(correlate_inline)
    else:
        transaction.on_commit(correlate, robust=True)

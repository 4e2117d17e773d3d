"""Receivers of other apps' signals. They only schedule work for after the commit."""

from functools import partial

from django.db import transaction
from django.dispatch import receiver

from alerts.signals import alert_raised
from investigations.services.dispatch import correlation_dispatch_on_commit


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
    if inline:
        transaction.on_commit(partial(_correlate_inline, alert.pk))
    else:  # a send that fails (broker down) is logged; the sweep correlates the alert later
        correlation_dispatch_on_commit(alert.pk)

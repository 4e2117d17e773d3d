"""The simulated tenant follows the investigations app through its signals."""

import logging

from django.db import OperationalError
from django.dispatch import receiver

from demo.connector import SimulatedConnector
from demo.services import simulated_tenant_sync
from investigations.connectors import connector_class
from investigations.signals import playbook_starting

logger = logging.getLogger(__name__)
ATTEMPTS = 3


@receiver(playbook_starting, dispatch_uid="demo.simulated_tenant_mirror")
def simulated_tenant_mirror(sender, *, identity_ids: list[int], **kwargs) -> None:
    """Before a playbook runs, the identities' simulated accounts catch up with ingestion, so the
    console shows the tenant as remediation will find it. Only when remediation uses this tenant.

    Playbooks of several identities sync at once, and a delegation creates the other party's
    account too: two syncs can deadlock on PostgreSQL, which aborts one of them. That one is
    simply run again (each identity's sync is its own transaction); a mirror still behind after
    that catches up at the next run or action, and never fails the investigation.
    """
    if not issubclass(connector_class(), SimulatedConnector):
        return
    for attempt in range(1, ATTEMPTS + 1):
        try:
            simulated_tenant_sync(identity_ids=identity_ids)
            return
        except OperationalError:
            logger.warning("Simulated tenant sync of %s failed (attempt %d)", identity_ids, attempt, exc_info=True)

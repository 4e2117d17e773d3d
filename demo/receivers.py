"""The simulated tenant follows the investigations app through its signals."""

from django.dispatch import receiver

from demo.connector import SimulatedConnector
from demo.services import simulated_tenant_sync
from investigations.connectors import connector_class
from investigations.signals import playbook_starting


@receiver(playbook_starting, dispatch_uid="demo.simulated_tenant_mirror")
def simulated_tenant_mirror(sender, *, identity_ids: list[int], **kwargs) -> None:
    """Before a playbook runs, the identities' simulated accounts catch up with ingestion, so the
    console shows the tenant as remediation will find it. Only when remediation uses this tenant."""
    if issubclass(connector_class(), SimulatedConnector):
        simulated_tenant_sync(identity_ids=identity_ids)

"""Writes to identities that do not come from ingestion: what the SOC knows about a person."""

from django.db import transaction

from airportal.audit import audit_record
from alerts.models import Identity


@transaction.atomic
def identity_set_vip(*, identity: Identity, is_vip: bool, actor=None) -> Identity:
    """Mark or unmark a VIP (executives, finance approvers): their alerts deserve attention first."""
    if Identity.objects.filter(pk=identity.pk).exclude(is_vip=is_vip).update(is_vip=is_vip) == 1:
        identity.is_vip = is_vip
        audit_record(actor=actor, verb="identity.vip_changed", target=identity, changes={"is_vip": is_vip})
    return identity

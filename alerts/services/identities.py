"""Writes to identities that do not come from ingestion: what the SOC knows about a person."""

from django.db import transaction

from airportal.audit import audit_record
from alerts.models import Identity

EDITABLE_FIELDS = frozenset({"display_name", "department", "is_vip"})


@transaction.atomic
def identity_update(*, identity: Identity, actor=None, **changes) -> Identity:
    """Set the profile fields a source does not give (department, VIP flag for executives and
    finance approvers, whose alerts deserve attention first). Audited when anything changed."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    before = {field: getattr(identity, field) for field in changes}
    changed = {field: value for field, value in changes.items() if before[field] != value}
    if changed:
        Identity.objects.filter(pk=identity.pk).update(**changed)
        for field, value in changed.items():
            setattr(identity, field, value)
        audit_record(
            actor=actor,
            verb="identity.updated",
            target=identity,
            changes={"before": {f: before[f] for f in changed}, "after": changed},
        )
    return identity

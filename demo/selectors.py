"""Reads of the simulated tenant."""

from alerts.models import Identity
from demo.models import SimulatedAccount


def simulated_tenant_state(*, identity: Identity) -> dict:
    """What the simulated tenant holds for one identity, as plain values (empty if never synced)."""
    account = SimulatedAccount.objects.filter(identity=identity).first()
    if account is None:
        return {}
    return {
        "enabled": account.enabled,
        "sending_restricted": account.sending_restricted,
        "forwarding_address": account.forwarding_address,
        "password_changed_at": account.password_changed_at,
        "active_sessions": account.sessions.filter(revoked_at__isnull=True).count(),
        "inbox_rules": list(account.inbox_rules.values_list("name", flat=True)),
        "permissions": [
            f"{p.access_rights} for {p.delegate}" for p in account.permissions.order_by("delegate", "access_rights")
        ],
        "messages": account.messages.filter(soft_deleted_at__isnull=True).count(),
    }

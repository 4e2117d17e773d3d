"""The read side of the simulated tenant: one user's account and mailbox as ``LiveState``.

Items carry the same keys and details as the msgraph connector's reads (Exchange's property
names: ``ForwardTo``, ``MoveToFolder``…, ``ForwardingSmtpAddress``, ``AccessRights``; Graph's
``scope`` and ``clientId``), so the playbook judges both tenants with the same code. The
simulated tenant keeps no folder permissions and no Entra device registrations: those parts are
named in ``unread``, never reported as empty.
"""

from django.utils import timezone

from demo.models import SimulatedAccount
from investigations.connectors.state import AccountState, LiveState, StateItem, StateKind

SOURCE = "simulated"
NOT_KEPT = {
    StateKind.FOLDER_PERMISSION: "The simulated tenant keeps no folder permissions.",
    StateKind.REGISTERED_DEVICE: "The simulated tenant keeps no Entra ID device registrations.",
}
RIGHT_KINDS = {"SendAs": StateKind.SEND_AS, "SendOnBehalf": StateKind.SEND_ON_BEHALF}


def simulated_live_state(upn: str) -> LiveState:
    """What the simulated tenant holds for ``upn`` now (a constant number of queries)."""
    upn = upn.lower()
    read_at = timezone.now()
    account = (
        SimulatedAccount.objects.filter(identity__upn=upn)
        .prefetch_related("inbox_rules", "permissions", "app_consents", "auth_methods", "mobile_devices")
        .first()
    )
    if account is None:  # never mirrored: no such user in the tenant
        reason = f"404 Not Found: no user or mailbox {upn} in the simulated tenant."
        return LiveState(upn=upn, source=SOURCE, read_at=read_at, unread=_everything(reason))
    items = [
        *_inbox_rules(account),
        *_forwarding(account),
        *_permissions(account),
        *_consents(account),
        *_auth_methods(account),
        *_mobile_devices(account),
    ]
    sessions_revoked_at = max(
        (s.revoked_at for s in account.sessions.filter(revoked_at__isnull=False).only("revoked_at")), default=None
    )
    return LiveState(
        upn=upn,
        source=SOURCE,
        read_at=read_at,
        items=items,
        account=AccountState(
            enabled=account.enabled,
            last_password_change=account.password_changed_at,
            sessions_revoked_at=sessions_revoked_at,
        ),
        unread=dict(NOT_KEPT),
    )


def _everything(reason: str) -> dict[str, str]:
    return {**{kind: reason for kind in StateKind.ALL}, "account": reason}


def _inbox_rules(account: SimulatedAccount) -> list[StateItem]:
    return [
        StateItem(
            kind=StateKind.INBOX_RULE,
            key=rule.name,
            name=rule.name,
            created_at=rule.created_at,
            hidden=rule.hidden,
            details={"Enabled": rule.enabled, **(rule.parameters if isinstance(rule.parameters, dict) else {})},
        )
        for rule in account.inbox_rules.all()
    ]


def _forwarding(account: SimulatedAccount) -> list[StateItem]:
    if not account.forwarding_address:
        return []
    return [
        StateItem(
            kind=StateKind.FORWARDING,
            key=account.forwarding_address,
            name=account.forwarding_address,
            details={
                "ForwardingSmtpAddress": f"smtp:{account.forwarding_address}",
                "ForwardingAddress": None,
                "DeliverToMailboxAndForward": account.deliver_to_mailbox_and_forward,
            },
        )
    ]


def _permissions(account: SimulatedAccount) -> list[StateItem]:
    """One item per delegate and kind: FullAccess (and other mailbox rights) together, SendAs, SendOnBehalf."""
    grouped: dict[tuple[str, str], list] = {}
    for permission in account.permissions.all():
        kind = RIGHT_KINDS.get(permission.access_rights, StateKind.MAILBOX_PERMISSION)
        grouped.setdefault((kind, permission.delegate), []).append(permission)
    return [
        StateItem(
            kind=kind,
            key=delegate,
            name=delegate,
            created_at=min(p.granted_at for p in rows),
            details={"AccessRights": sorted(p.access_rights for p in rows)},
        )
        for (kind, delegate), rows in grouped.items()
    ]


def _consents(account: SimulatedAccount) -> list[StateItem]:
    return [
        StateItem(
            kind=StateKind.OAUTH_GRANT,
            key=f"grant-{consent.pk}",
            name=f"{consent.scopes.strip()} for app {consent.app_name}",
            created_at=consent.granted_at,
            details={
                "clientId": consent.client_id,
                "clientDisplayName": consent.app_name,
                "consentType": "Principal",
                "scope": consent.scopes,
            },
        )
        for consent in account.app_consents.all()
    ]


def _auth_methods(account: SimulatedAccount) -> list[StateItem]:
    return [
        StateItem(
            kind=StateKind.AUTH_METHOD,
            key=f"method-{method.pk}",
            name=f"{method.method_type.removesuffix('AuthenticationMethod')} {method.name}".strip(),
            created_at=method.registered_at,
            details={"type": method.method_type, "displayName": method.name},
        )
        for method in account.auth_methods.all()
    ]


def _mobile_devices(account: SimulatedAccount) -> list[StateItem]:
    return [
        StateItem(
            kind=StateKind.MOBILE_DEVICE,
            key=device.device_id,
            name=device.model or device.device_id,
            created_at=device.first_sync_at,
            details={"DeviceId": device.device_id, "DeviceModel": device.model},
        )
        for device in account.mobile_devices.all()
    ]

"""What the msgraph connector reads of one user: one function per part of ``LiveState``.

``MsGraphConnector.read_state`` calls each of them, and each action calls the one for the part it
changed to read its change back, so what the playbook sees and what verification trusts are the
same reads. Inbox rules are read through Exchange with ``-IncludeHidden``: Graph's ``messageRules``
never returns hidden rules, and ``Get-InboxRule`` without the switch leaves them out too.

They raise ``m365.client`` errors (``NotFound`` for a missing user or mailbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from investigations.connectors.state import AccountState, StateItem, StateKind
from m365 import permissions, times
from m365.client import M365Client

if TYPE_CHECKING:
    from investigations.connectors.exchange import ExchangeAdmin

# Get-InboxRule properties that say what a rule does or when it fires.
RULE_SETTINGS = (
    "ForwardTo",
    "ForwardAsAttachmentTo",
    "RedirectTo",
    "MoveToFolder",
    "CopyToFolder",
    "DeleteMessage",
    "SoftDeleteMessage",
    "MarkAsRead",
    "StopProcessingRules",
    "SubjectContainsWords",
    "SubjectOrBodyContainsWords",
    "BodyContainsWords",
    "From",
    "FromAddressContainsWords",
    "SentTo",
)
FORWARDING_FIELDS = ("ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward")
# Rows every mailbox has, which nobody granted: not delegations.
BUILT_IN_TRUSTEES = ("nt authority\\self", "default", "anonymous")
INBOX = "Inbox"


def _date(value) -> datetime | None:
    try:
        return times.parse(value) if value else None
    except (TypeError, ValueError):
        return None


def user_path(user: str) -> str:
    """The Graph path of a user (its object id or UPN)."""
    return f"users/{quote(user, safe='@')}"


def mailbox_and_folder(identity: str) -> tuple[str, str]:
    """``cfo@contoso.com:\\Inbox`` (a folder's identity, as ``Add-MailboxFolderPermission`` records
    it) → ``("cfo@contoso.com", "Inbox")``; a plain mailbox → ``(mailbox, "")``."""
    mailbox, _, folder = identity.partition(":\\")
    return mailbox.strip(), folder.strip("\\ ")


def odata_string(value: str) -> str:
    """A string literal for an OData ``$filter`` (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


# --- Entra ID ------------------------------------------------------------------------------------


def account(client: M365Client, user: str) -> AccountState:
    """Enabled or not, the last password change and the sign-in sessions' revocation time."""
    select = "accountEnabled,lastPasswordChangeDateTime,signInSessionsValidFromDateTime"
    row = client.graph(
        "GET", user_path(user), permission=permissions.for_permission("User.Read.All"), params={"$select": select}
    ).json()
    return AccountState(
        enabled=row.get("accountEnabled"),
        last_password_change=_date(row.get("lastPasswordChangeDateTime")),
        sessions_revoked_at=_date(row.get("signInSessionsValidFromDateTime")),
    )


def _graph_all(client: M365Client, path: str, permission: str) -> list[dict]:
    return [row for page in client.graph_pages(path, params={}, permission=permission) for row in page]


def oauth_grants(client: M365Client, user: str) -> list[StateItem]:
    """The delegated permission grants the user consented to (one per client app and resource)."""
    permission = permissions.for_permission("DelegatedPermissionGrant.ReadWrite.All")
    rows = _graph_all(client, f"{user_path(user)}/oauth2PermissionGrants", permission)
    return [
        StateItem(
            kind=StateKind.OAUTH_GRANT,
            key=row["id"],
            name=f"{row.get('scope', '').strip()} for app {row.get('clientId')}",
            details={k: row.get(k) for k in ("clientId", "consentType", "principalId", "resourceId", "scope")},
        )
        for row in rows
    ]


def app_role_assignments(client: M365Client, user: str) -> list[StateItem]:
    permission = permissions.for_permission("AppRoleAssignment.ReadWrite.All")
    rows = _graph_all(client, f"{user_path(user)}/appRoleAssignments", permission)
    return [
        StateItem(
            kind=StateKind.APP_ROLE_ASSIGNMENT,
            key=row["id"],
            name=str(row.get("resourceDisplayName") or row.get("resourceId")),
            created_at=_date(row.get("createdDateTime")),
            details={k: row.get(k) for k in ("principalId", "resourceId", "appRoleId", "resourceDisplayName")},
        )
        for row in rows
    ]


def auth_methods(client: M365Client, user: str) -> list[StateItem]:
    """Every registered authentication method but the password (which cannot be removed)."""
    path = f"{user_path(user)}/authentication/methods"
    rows = _graph_all(client, path, permissions.for_action("remove_mfa_method"))
    items = []
    for row in rows:
        method_type = str(row.get("@odata.type", "")).removeprefix("#microsoft.graph.")
        if method_type == "passwordAuthenticationMethod":
            continue
        label = row.get("displayName") or row.get("phoneNumber") or row.get("emailAddress") or ""
        items.append(
            StateItem(
                kind=StateKind.AUTH_METHOD,
                key=row["id"],
                name=f"{method_type.removesuffix('AuthenticationMethod')} {label}".strip(),
                created_at=_date(row.get("createdDateTime")),
                details={"type": method_type, **{k: v for k, v in row.items() if k not in ("id", "@odata.type")}},
            )
        )
    return items


def registered_devices(client: M365Client, user: str) -> list[StateItem]:
    path = f"{user_path(user)}/registeredDevices"
    rows = _graph_all(client, path, permissions.for_permission("Device.Read.All"))
    return [
        StateItem(
            kind=StateKind.REGISTERED_DEVICE,
            key=row["id"],
            name=str(row.get("displayName") or row.get("deviceId") or row["id"]),
            created_at=_date(row.get("registrationDateTime") or row.get("createdDateTime")),
            details={
                k: row.get(k) for k in ("deviceId", "operatingSystem", "trustType", "approximateLastSignInDateTime")
            },
        )
        for row in rows
    ]


# --- Exchange Online ------------------------------------------------------------------------------


def inbox_rules(exo: ExchangeAdmin, mailbox: str, *, mark_hidden: bool = False) -> list[StateItem]:
    """Every inbox rule of ``mailbox``, hidden ones included; ``mark_hidden`` asks once more without
    ``-IncludeHidden`` to tell which those are (verification does not need to know)."""
    rows = exo.invoke("Get-InboxRule", anchor=mailbox, Mailbox=mailbox, IncludeHidden=True)
    visible = None
    if mark_hidden:
        visible = {row["Identity"] for row in exo.invoke("Get-InboxRule", anchor=mailbox, Mailbox=mailbox)}
    return [
        StateItem(
            kind=StateKind.INBOX_RULE,
            key=str(row["Identity"]),
            name=str(row.get("Name") or ""),
            hidden=visible is not None and row["Identity"] not in visible,
            details={
                "RuleIdentity": row.get("RuleIdentity"),
                "Enabled": row.get("Enabled"),
                "Priority": row.get("Priority"),
                **{key: row[key] for key in RULE_SETTINGS if row.get(key) not in (None, "", [], False)},
            },
        )
        for row in rows
    ]


def mailbox_row(exo: ExchangeAdmin, mailbox: str) -> dict:
    [row] = exo.invoke("Get-Mailbox", anchor=mailbox, Identity=mailbox)
    return row


def forwarding(row: dict) -> list[StateItem]:
    """Mailbox forwarding (Set-Mailbox), from a ``Get-Mailbox`` row: one item, or none."""
    target = row.get("ForwardingSmtpAddress") or row.get("ForwardingAddress")
    if not target:
        return []
    return [
        StateItem(
            kind=StateKind.FORWARDING,
            key=str(target),
            name=str(target).removeprefix("smtp:").removeprefix("SMTP:"),
            details={field: row.get(field) for field in FORWARDING_FIELDS},
        )
    ]


def send_on_behalf(row: dict) -> list[StateItem]:
    """Delegates in the mailbox's ``GrantSendOnBehalfTo``, from a ``Get-Mailbox`` row."""
    return [
        StateItem(kind=StateKind.SEND_ON_BEHALF, key=str(delegate).lower(), name=str(delegate))
        for delegate in row.get("GrantSendOnBehalfTo") or []
    ]


def mailbox_permissions(exo: ExchangeAdmin, mailbox: str, delegate: str | None = None) -> list[StateItem]:
    """Rights granted on the mailbox (FullAccess…), not inherited, not the owner's own."""
    params = {"User": delegate} if delegate else {}
    rows = exo.invoke("Get-MailboxPermission", anchor=mailbox, Identity=mailbox, **params)
    return [
        StateItem(
            kind=StateKind.MAILBOX_PERMISSION,
            key=str(row["User"]).lower(),
            name=str(row["User"]),
            details={"AccessRights": list(row.get("AccessRights") or [])},
        )
        for row in rows
        if not row.get("IsInherited") and not row.get("Deny") and str(row["User"]).lower() not in BUILT_IN_TRUSTEES
    ]


def send_as(exo: ExchangeAdmin, mailbox: str, delegate: str | None = None) -> list[StateItem]:
    params = {"Trustee": delegate} if delegate else {}
    rows = exo.invoke("Get-RecipientPermission", anchor=mailbox, Identity=mailbox, **params)
    return [
        StateItem(kind=StateKind.SEND_AS, key=str(row["Trustee"]).lower(), name=str(row["Trustee"]))
        for row in rows
        if "SendAs" in (row.get("AccessRights") or []) and str(row["Trustee"]).lower() not in BUILT_IN_TRUSTEES
    ]


def folder_permissions(exo: ExchangeAdmin, mailbox: str, folder: str = INBOX) -> list[StateItem]:
    """Who may open the folder (``Get-MailboxFolderPermission mailbox:\\Inbox``), Default and Anonymous
    left out unless they were given more than ``None``."""
    identity = f"{mailbox}:\\{folder}"
    rows = exo.invoke("Get-MailboxFolderPermission", anchor=mailbox, Identity=identity)
    return [
        StateItem(
            kind=StateKind.FOLDER_PERMISSION,
            key=str(row["User"]).lower(),
            name=f"{row['User']} on {folder}",
            details={"folder": identity, "AccessRights": list(row.get("AccessRights") or [])},
        )
        for row in rows
        if str(row["User"]).lower() not in BUILT_IN_TRUSTEES or set(row.get("AccessRights") or []) - {"None"}
    ]


def mobile_devices(exo: ExchangeAdmin, mailbox: str) -> list[StateItem]:
    """Exchange ActiveSync partnerships of the mailbox (``Get-MobileDevice``)."""
    rows = exo.invoke("Get-MobileDevice", anchor=mailbox, Mailbox=mailbox)
    return [
        StateItem(
            kind=StateKind.MOBILE_DEVICE,
            key=str(row["Identity"]),
            name=" ".join(str(row.get(k) or "") for k in ("DeviceModel", "DeviceOS")).strip() or str(row["DeviceId"]),
            created_at=_date(row.get("FirstSyncTime")),
            details={k: row.get(k) for k in ("DeviceId", "DeviceType", "ClientType", "DeviceAccessState")},
        )
        for row in rows
    ]

"""Mailbox remediation through the Exchange Online admin API (what Graph cannot do).

Forwarding, mailbox permissions and transport rules have no Microsoft Graph API. The Exchange
Online PowerShell module (v3) runs its cmdlets over REST:
``POST {M365_EXCHANGE_URL}/adminapi/beta/{tenant}/InvokeCommand`` with
``{"CmdletInput": {"CmdletName": "Set-Mailbox", "Parameters": {...}}}``, answering
``{"value": [...]}``. The app needs the Office 365 Exchange Online application permission
``Exchange.ManageAsApp`` and the Exchange Administrator role.

Each function reads the state first, changes it only if needed (so a retry is a no-op), and
returns what ``undo`` needs to put it back. They raise ``m365.client`` errors; the
``msgraph`` connector turns those into ``TransientError`` / ``PermanentError``.
"""

from investigations.connectors.base import ConnectorResult, PermanentError
from m365 import permissions
from m365.client import M365Client, NotFound

PERMISSION = permissions.for_action("restrict_sending")
FORWARDING_FIELDS = ("ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward")
SEND_AS = "SendAs"
SEND_ON_BEHALF = "SendOnBehalf"
BLOCK_RULE_PREFIX = "AIR Portal: block sending from "


class ExchangeAdmin:
    def __init__(self, client: M365Client):
        self.client = client

    def invoke(self, cmdlet: str, *, anchor: str, **parameters) -> list[dict]:
        """Run one cmdlet; its output objects. ``anchor`` routes the call to that mailbox's servers."""
        return self.client.invoke_cmdlet(cmdlet, anchor=anchor, permission=PERMISSION, **parameters)


# --- forwarding --------------------------------------------------------------------------------


def forwarding_disable(exo: ExchangeAdmin, mailbox: str) -> ConnectorResult:
    try:
        [current] = exo.invoke("Get-Mailbox", anchor=mailbox, Identity=mailbox)
    except NotFound:
        return ConnectorResult(detail=f"Mailbox {mailbox} no longer exists.", already_done=True)
    before = {field: current.get(field) for field in FORWARDING_FIELDS}
    if not before["ForwardingSmtpAddress"] and not before["ForwardingAddress"]:
        return ConnectorResult(detail=f"{mailbox} was not forwarding mail.", already_done=True, undo_state=before)
    exo.invoke(
        "Set-Mailbox",
        anchor=mailbox,
        Identity=mailbox,
        ForwardingSmtpAddress=None,
        ForwardingAddress=None,
        DeliverToMailboxAndForward=False,
    )
    target = before["ForwardingSmtpAddress"] or before["ForwardingAddress"]
    return ConnectorResult(
        detail=f"Forwarding of {mailbox} to {target} removed.", data={"mailbox": mailbox}, undo_state=before
    )


def forwarding_restore(exo: ExchangeAdmin, mailbox: str, before: dict) -> ConnectorResult:
    exo.invoke("Set-Mailbox", anchor=mailbox, Identity=mailbox, **{f: before.get(f) for f in FORWARDING_FIELDS})
    target = before.get("ForwardingSmtpAddress") or before.get("ForwardingAddress") or "nowhere"
    return ConnectorResult(detail=f"Forwarding of {mailbox} restored (to {target}).")


# --- mailbox permissions -----------------------------------------------------------------------


def permission_remove(exo: ExchangeAdmin, mailbox: str, delegate: str, rights: list[str] | None) -> ConnectorResult:
    """Remove ``delegate``'s ``rights`` on ``mailbox`` (all it holds when None).

    SendAs is a recipient permission, FullAccess and the others mailbox permissions; the rights
    actually held (and removed) are what undo gives back.
    """
    wanted = set(rights) if rights else None
    if wanted and SEND_ON_BEHALF in wanted:
        raise PermanentError(
            "Removing SendOnBehalf is not supported by the msgraph connector: remove the delegate from the "
            "mailbox's 'Send on behalf' list in the Exchange admin center."
        )
    removed: list[str] = []
    try:
        if wanted is None or wanted - {SEND_AS}:
            rows = exo.invoke("Get-MailboxPermission", anchor=mailbox, Identity=mailbox, User=delegate)
            held = {r for row in rows if not row.get("IsInherited") for r in row.get("AccessRights", [])}
            to_remove = sorted(held if wanted is None else held & wanted)
            if to_remove:
                exo.invoke(
                    "Remove-MailboxPermission",
                    anchor=mailbox,
                    Identity=mailbox,
                    User=delegate,
                    AccessRights=to_remove,
                    InheritanceType="All",
                    Confirm=False,
                )
                removed += to_remove
        if wanted is None or SEND_AS in wanted:
            rows = exo.invoke("Get-RecipientPermission", anchor=mailbox, Identity=mailbox, Trustee=delegate)
            if any(SEND_AS in row.get("AccessRights", []) for row in rows):
                exo.invoke(
                    "Remove-RecipientPermission",
                    anchor=mailbox,
                    Identity=mailbox,
                    Trustee=delegate,
                    AccessRights=[SEND_AS],
                    Confirm=False,
                )
                removed.append(SEND_AS)
    except NotFound:
        return ConnectorResult(detail=f"Mailbox {mailbox} no longer exists.", already_done=True)
    undo_state = {"mailbox": mailbox, "delegate": delegate, "rights": removed}
    if not removed:
        asked = ", ".join(sorted(wanted)) if wanted else "any right"
        return ConnectorResult(
            detail=f"{delegate} held {asked} on {mailbox} no more.", already_done=True, undo_state=undo_state
        )
    return ConnectorResult(
        detail=f"Removed {', '.join(removed)} of {delegate} on {mailbox}.", data=undo_state, undo_state=undo_state
    )


def permission_restore(exo: ExchangeAdmin, state: dict) -> ConnectorResult:
    mailbox, delegate, rights = state["mailbox"], state["delegate"], state.get("rights") or []
    mailbox_rights = [right for right in rights if right != SEND_AS]
    if mailbox_rights:
        exo.invoke(
            "Add-MailboxPermission",
            anchor=mailbox,
            Identity=mailbox,
            User=delegate,
            AccessRights=mailbox_rights,
            InheritanceType="All",
        )
    if SEND_AS in rights:
        exo.invoke(
            "Add-RecipientPermission", anchor=mailbox, Identity=mailbox, Trustee=delegate, AccessRights=[SEND_AS]
        )
    return ConnectorResult(detail=f"Gave {delegate} back {', '.join(rights) or 'nothing'} on {mailbox}.")


# --- sending -----------------------------------------------------------------------------------


def block_rule_name(sender: str) -> str:
    return f"{BLOCK_RULE_PREFIX}{sender}"


def sending_block(exo: ExchangeAdmin, sender: str, *, comment: str) -> ConnectorResult:
    """A transport rule rejecting every message from ``sender``: takes effect for the whole
    organisation within minutes and is removed as a unit by undo."""
    name = block_rule_name(sender)
    try:
        exo.invoke("Get-TransportRule", anchor=sender, Identity=name)
    except NotFound:
        pass
    else:
        return ConnectorResult(detail=f"Sending from {sender} was already blocked.", already_done=True,
                               undo_state={"rule": name, "sender": sender})  # fmt: skip
    exo.invoke(
        "New-TransportRule",
        anchor=sender,
        Name=name,
        From=[sender],
        RejectMessageReasonText="Sending from this account is blocked while a security investigation is open.",
        RejectMessageEnhancedStatusCode="5.7.1",
        Priority=0,
        Mode="Enforce",
        Comments=comment,
    )
    return ConnectorResult(
        detail=f"Transport rule '{name}' rejects mail from {sender}.",
        data={"rule": name},
        undo_state={"rule": name, "sender": sender},
    )


def sending_unblock(exo: ExchangeAdmin, state: dict) -> ConnectorResult:
    try:
        exo.invoke("Remove-TransportRule", anchor=state["sender"], Identity=state["rule"], Confirm=False)
    except NotFound:
        return ConnectorResult(detail=f"Transport rule '{state['rule']}' was already removed.", already_done=True)
    return ConnectorResult(detail=f"{state['sender']} may send mail again (transport rule removed).")

"""Mailbox remediation through the Exchange Online admin API (what Graph cannot do, or hides).

Inbox rules (hidden ones too), forwarding, mailbox and folder permissions, ActiveSync partnerships
and transport rules have no complete Microsoft Graph API. The Exchange Online PowerShell module
(v3) runs its cmdlets over REST: ``POST {M365_EXCHANGE_URL}/adminapi/beta/{tenant}/InvokeCommand``
with ``{"CmdletInput": {"CmdletName": "Set-Mailbox", "Parameters": {...}}}``, answering
``{"value": [...]}``. The app needs ``Exchange.ManageAsApp`` and the Exchange Administrator role.

Each function reads the state first, changes it only if needed (so a retry is a no-op), reads it
back through ``investigations.connectors.reads`` and raises ``VerificationFailed`` when the change
is not there. ``keep`` stores the undo snapshot before the change (``Connector.keep_undo_state``)
and answers the first attempt's snapshot on a retry. They raise ``m365.client`` errors; the
``msgraph`` connector turns those into ``TransientError`` / ``PermanentError``.
"""

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from alerts.activity.rules import FORWARD_KEYS, InboxRule, inbox_rule_of, recipients
from investigations.connectors import reads
from investigations.connectors.base import ConnectorResult, PermanentError, VerificationFailed
from investigations.connectors.state import StateItem
from m365 import permissions
from m365.client import M365Client, NotFound

PERMISSION = permissions.for_action("restrict_sending")
SEND_AS = "SendAs"
SEND_ON_BEHALF = "SendOnBehalf"
BLOCK_RULE_PREFIX = "AIR Portal: block sending from "

Keep = Callable[[dict], dict]


class ExchangeAdmin:
    def __init__(self, client: M365Client):
        self.client = client

    def invoke(self, cmdlet: str, *, anchor: str, **parameters) -> list[dict]:
        """Run one cmdlet; its output objects. ``anchor`` routes the call to that mailbox's servers."""
        return self.client.invoke_cmdlet(cmdlet, anchor=anchor, permission=PERMISSION, **parameters)


def _gone(mailbox: str, keep: Keep) -> ConnectorResult:
    return ConnectorResult(
        detail=f"Mailbox {mailbox} no longer exists.",
        already_done=True,
        undo_state=keep({}),
        read_back={"mailbox": "not found (Get-Mailbox)"},
    )


# --- inbox rules ---------------------------------------------------------------------------------


def _effect(rule: InboxRule) -> tuple:
    """What a rule does and when, comparable across spellings (audit record, Get-InboxRule)."""
    forwards = sorted({address for values in rule.forwards.values() for address in values})
    keywords = sorted({word.strip().lower() for word in rule.keywords})
    return forwards, rule.folder_name.lower(), rule.deletes, rule.marks_read, keywords


def rules_matching(rules: list[StateItem], *, identity: str, name: str, settings: dict | None) -> list[StateItem]:
    """The rules an action means: by identity when it has one; else by name and by what the rule does.

    A rule found by what it does (forwarding, moving, deleting on the same words) is the same rule
    renamed or hidden; a rule of the same name that does something else is still that rule, changed.
    """
    if identity:
        return [rule for rule in rules if identity in (rule.key, str(rule.details.get("RuleIdentity")))]
    same_name = [rule for rule in rules if rule.name.strip() == name.strip()]
    wanted = inbox_rule_of(settings or {}, name=name)
    if not any(_effect(wanted)[:4]):  # nothing known of what it does: the name is all there is
        return same_name
    same_effect = [rule for rule in rules if _effect(inbox_rule_of(rule.details, name=rule.name)) == _effect(wanted)]
    both = [rule for rule in same_name if rule in same_effect]
    return both or same_name or same_effect


def inbox_rule_remove(
    exo: ExchangeAdmin, mailbox: str, *, identity: str, name: str, settings: dict | None, keep: Keep
) -> ConnectorResult:
    """Remove the rule(s) by identity; absence is confirmed by ``Get-InboxRule -IncludeHidden``."""
    try:
        rules = reads.inbox_rules(exo, mailbox, mark_hidden=True)
    except NotFound:
        return _gone(mailbox, keep)
    matching = rules_matching(rules, identity=identity, name=name, settings=settings)
    snapshots = [{"name": r.name, "hidden": r.hidden, "identity": r.key, **r.details} for r in matching]
    undo_state = keep({"mailbox": mailbox, "rules": snapshots} if snapshots else {})
    if not matching:
        return ConnectorResult(
            detail=f"No inbox rule of {mailbox} matches '{name}' (all {len(rules)} rules read, hidden ones included).",
            already_done=True,
            undo_state=undo_state,
            read_back={"rules_seen": [r.name for r in rules]},
        )
    for rule in matching:
        with suppress(NotFound):  # removed between the read and now: the read-back decides
            exo.invoke("Remove-InboxRule", anchor=mailbox, Identity=rule.key, Mailbox=mailbox, Confirm=False)
    after = reads.inbox_rules(exo, mailbox)
    left = [r.name for r in after if r.key in {m.key for m in matching}]
    if left:
        raise VerificationFailed(
            f"Remove-InboxRule answered, but Get-InboxRule -IncludeHidden still shows {left} in {mailbox}; remove "
            "it in the Exchange admin center or with Remove-InboxRule -Identity.",
            {"rules_left": left},
        )
    hidden = sum(1 for rule in matching if rule.hidden)
    return ConnectorResult(
        detail=f"Inbox rule '{matching[0].name}' of {mailbox} removed"
        + (f" ({len(matching)} rules)" if len(matching) > 1 else "")
        + (f"; {hidden} of them hidden from Outlook and Graph" if hidden else "")
        + ".",
        data={"rules": [r.key for r in matching], "hidden": hidden},
        undo_state=undo_state,
        read_back={"rules_left": [r.name for r in after]},
    )


def _new_rule_parameters(mailbox: str, snapshot: dict) -> dict:
    parameters = {key: snapshot[key] for key in reads.RULE_SETTINGS if snapshot.get(key) not in (None, "", [])}
    for key in FORWARD_KEYS:  # Get-InboxRule shows '"Name" [SMTP:a@b]'; New-InboxRule wants the address
        if key in parameters:
            parameters[key] = recipients(parameters[key])
    folder = parameters.get("MoveToFolder")
    if folder and ":\\" not in folder:
        parameters["MoveToFolder"] = f"{mailbox}:\\{folder}"
    return parameters


def inbox_rule_restore(exo: ExchangeAdmin, state: dict) -> ConnectorResult:
    """Re-create each removed rule from its snapshot (a hidden rule comes back visible)."""
    mailbox, snapshots = state.get("mailbox"), state.get("rules") or []
    if not snapshots:
        raise PermanentError("Nothing to restore: no rule was removed.")
    existing = {rule.name for rule in reads.inbox_rules(exo, mailbox)}
    for snapshot in snapshots:
        if snapshot["name"] not in existing:
            exo.invoke(
                "New-InboxRule",
                anchor=mailbox,
                Mailbox=mailbox,
                Name=snapshot["name"],
                **_new_rule_parameters(mailbox, snapshot),
            )
    after = {rule.name for rule in reads.inbox_rules(exo, mailbox)}
    missing = [s["name"] for s in snapshots if s["name"] not in after]
    if missing:
        raise VerificationFailed(
            f"New-InboxRule answered, but {mailbox} has no rule {missing}.", {"rules": sorted(after)}
        )
    return ConnectorResult(
        detail=f"Inbox rule(s) {', '.join(repr(s['name']) for s in snapshots)} of {mailbox} re-created from the "
        "snapshot.",
        read_back={"rules": sorted(after)},
    )


# --- forwarding ----------------------------------------------------------------------------------


def forwarding_disable(exo: ExchangeAdmin, mailbox: str, *, keep: Keep) -> ConnectorResult:
    try:
        current = reads.mailbox_row(exo, mailbox)
    except NotFound:
        return _gone(mailbox, keep)
    before = {field: current.get(field) for field in reads.FORWARDING_FIELDS}
    if not reads.forwarding(current):
        return ConnectorResult(
            detail=f"{mailbox} was not forwarding mail (Get-Mailbox).",
            already_done=True,
            undo_state=keep({}),
            read_back=before,
        )
    undo_state = keep(before)
    exo.invoke(
        "Set-Mailbox",
        anchor=mailbox,
        Identity=mailbox,
        ForwardingSmtpAddress=None,
        ForwardingAddress=None,
        DeliverToMailboxAndForward=False,
    )
    after = reads.mailbox_row(exo, mailbox)
    seen = {field: after.get(field) for field in reads.FORWARDING_FIELDS}
    if reads.forwarding(after):
        raise VerificationFailed(f"Set-Mailbox answered, but {mailbox} still forwards mail.", seen)
    target = before["ForwardingSmtpAddress"] or before["ForwardingAddress"]
    return ConnectorResult(
        detail=f"Forwarding of {mailbox} to {target} removed.",
        data={"mailbox": mailbox},
        undo_state=undo_state,
        read_back=seen,
    )


def forwarding_restore(exo: ExchangeAdmin, mailbox: str, before: dict) -> ConnectorResult:
    fields = {f: before.get(f) for f in reads.FORWARDING_FIELDS}
    exo.invoke("Set-Mailbox", anchor=mailbox, Identity=mailbox, **fields)
    after = reads.mailbox_row(exo, mailbox)
    seen = {field: after.get(field) for field in reads.FORWARDING_FIELDS}
    wanted = fields["ForwardingSmtpAddress"] or fields["ForwardingAddress"]
    if wanted and not reads.forwarding(after):
        raise VerificationFailed(f"Set-Mailbox answered, but {mailbox} does not forward to {wanted}.", seen)
    return ConnectorResult(detail=f"Forwarding of {mailbox} restored (to {wanted or 'nowhere'}).", read_back=seen)


# --- mailbox, send-as, send-on-behalf and folder permissions --------------------------------------


def _held(exo: ExchangeAdmin, mailbox: str, delegate: str, folder: str) -> dict:
    """What ``delegate`` holds on ``mailbox`` now, every kind of right (the read and the read-back)."""
    delegate_key = delegate.lower()
    rights = sorted(
        {r for item in reads.mailbox_permissions(exo, mailbox, delegate) for r in item.details["AccessRights"]}
    )
    if reads.send_as(exo, mailbox, delegate):
        rights.append(SEND_AS)
    if any(item.key == delegate_key for item in reads.send_on_behalf(reads.mailbox_row(exo, mailbox))):
        rights.append(SEND_ON_BEHALF)
    folder_rights = next(
        (
            item.details["AccessRights"]
            for item in reads.folder_permissions(exo, mailbox, folder)
            if item.key == delegate_key
        ),
        [],
    )
    return {"rights": rights, "folder": folder, "folder_rights": folder_rights}


def permission_remove(
    exo: ExchangeAdmin, mailbox: str, delegate: str, rights: list[str] | None, *, folder: str | None, keep: Keep
) -> ConnectorResult:
    """Remove ``delegate``'s ``rights`` on ``mailbox`` (all it holds when None), and its permission on
    ``folder`` (default: the Inbox, when every right goes).

    FullAccess and the like are mailbox permissions, SendAs a recipient permission, SendOnBehalf the
    mailbox's ``GrantSendOnBehalfTo`` list; what was actually held (and removed) is what undo gives back.
    """
    wanted = set(rights) if rights else None
    folder_name = folder or reads.INBOX
    try:
        held = _held(exo, mailbox, delegate, folder_name)
    except NotFound:
        return _gone(mailbox, keep)
    removing = sorted(set(held["rights"]) if wanted is None else set(held["rights"]) & wanted)
    folder_removing = held["folder_rights"] if (wanted is None or folder) else []
    state = {"mailbox": mailbox, "delegate": delegate, "rights": removing, "folder": folder_name,
             "folder_rights": folder_removing}  # fmt: skip
    undo_state = keep(state if removing or folder_removing else {})
    if not removing and not folder_removing:
        asked = ", ".join(sorted(wanted)) if wanted else "any right"
        return ConnectorResult(
            detail=f"{delegate} held {asked} on {mailbox} no more.", already_done=True, undo_state=undo_state,
            read_back=held,
        )  # fmt: skip
    mailbox_rights = [right for right in removing if right not in (SEND_AS, SEND_ON_BEHALF)]
    if mailbox_rights:
        exo.invoke("Remove-MailboxPermission", anchor=mailbox, Identity=mailbox, User=delegate,
                   AccessRights=mailbox_rights, InheritanceType="All", Confirm=False)  # fmt: skip
    if SEND_AS in removing:
        exo.invoke("Remove-RecipientPermission", anchor=mailbox, Identity=mailbox, Trustee=delegate,
                   AccessRights=[SEND_AS], Confirm=False)  # fmt: skip
    if SEND_ON_BEHALF in removing:
        exo.invoke("Set-Mailbox", anchor=mailbox, Identity=mailbox, GrantSendOnBehalfTo=_change("remove", delegate))
    if folder_removing:
        exo.invoke("Remove-MailboxFolderPermission", anchor=mailbox, Identity=f"{mailbox}:\\{folder_name}",
                   User=delegate, Confirm=False)  # fmt: skip
    after = _held(exo, mailbox, delegate, folder_name)
    left = sorted(set(after["rights"]) & set(removing)) + (["folder:" + folder_name] if folder_removing and
                                                          after["folder_rights"] else [])  # fmt: skip
    if left:
        raise VerificationFailed(
            f"Exchange answered, but {delegate} still holds {', '.join(left)} on {mailbox}.", after
        )
    removed = removing + ([f"{'/'.join(folder_removing)} on {folder_name}"] if folder_removing else [])
    return ConnectorResult(
        detail=f"Removed {', '.join(removed)} of {delegate} on {mailbox}.",
        data=state,
        undo_state=undo_state,
        read_back=after,
    )


def _change(verb: str, value: str) -> dict:
    """A multivalued property change (PowerShell's ``@{remove="…"}``) as the REST endpoint takes it."""
    return {"@odata.type": "#Exchange.GenericHashTable", verb: [value]}


def permission_restore(exo: ExchangeAdmin, state: dict) -> ConnectorResult:
    mailbox, delegate, rights = state["mailbox"], state["delegate"], state.get("rights") or []
    folder, folder_rights = state.get("folder") or reads.INBOX, state.get("folder_rights") or []
    mailbox_rights = [right for right in rights if right not in (SEND_AS, SEND_ON_BEHALF)]
    if mailbox_rights:
        exo.invoke("Add-MailboxPermission", anchor=mailbox, Identity=mailbox, User=delegate,
                   AccessRights=mailbox_rights, InheritanceType="All")  # fmt: skip
    if SEND_AS in rights:
        exo.invoke("Add-RecipientPermission", anchor=mailbox, Identity=mailbox, Trustee=delegate,
                   AccessRights=[SEND_AS])  # fmt: skip
    if SEND_ON_BEHALF in rights:
        exo.invoke("Set-Mailbox", anchor=mailbox, Identity=mailbox, GrantSendOnBehalfTo=_change("add", delegate))
    if folder_rights:
        exo.invoke("Add-MailboxFolderPermission", anchor=mailbox, Identity=f"{mailbox}:\\{folder}", User=delegate,
                   AccessRights=folder_rights)  # fmt: skip
    after = _held(exo, mailbox, delegate, folder)
    missing = sorted(set(rights) - set(after["rights"])) + (["folder:" + folder] if folder_rights and
                                                            not after["folder_rights"] else [])  # fmt: skip
    if missing:
        raise VerificationFailed(f"Exchange answered, but {delegate} did not get {', '.join(missing)} back.", after)
    given = rights + ([f"{'/'.join(folder_rights)} on {folder}"] if folder_rights else [])
    return ConnectorResult(detail=f"Gave {delegate} back {', '.join(given) or 'nothing'} on {mailbox}.",
                           read_back=after)  # fmt: skip


# --- ActiveSync partnerships ----------------------------------------------------------------------


def devices_matching(
    devices: list[StateItem], *, device_id: str, since: datetime | None, until: datetime | None
) -> list[StateItem]:
    """The partnership named by its device id, or every one first synced in [since, until]."""
    if device_id:
        return [d for d in devices if device_id.lower() in (d.key.lower(), str(d.details.get("DeviceId")).lower())]
    if since is None:
        return []
    return [d for d in devices if d.created_at and since <= d.created_at <= (until or d.created_at)]


def mobile_device_remove(
    exo: ExchangeAdmin, mailbox: str, *, device_id: str, since: datetime | None, until: datetime | None
) -> ConnectorResult:
    if not device_id and since is None:
        raise PermanentError(
            "remove_mobile_device needs a device_id or the window (first_synced_after) in its parameters."
        )
    try:
        devices = reads.mobile_devices(exo, mailbox)
    except NotFound:
        return _gone(mailbox, lambda state: state)
    matching = devices_matching(devices, device_id=device_id, since=since, until=until)
    if not matching:
        return ConnectorResult(
            detail=f"No ActiveSync partnership of {mailbox} matches (all {len(devices)} read with Get-MobileDevice).",
            already_done=True,
            read_back={"devices": [d.name for d in devices]},
        )
    for device in matching:
        with suppress(NotFound):  # the read-back decides
            exo.invoke("Remove-MobileDevice", anchor=mailbox, Identity=device.key, Confirm=False)
    after = reads.mobile_devices(exo, mailbox)
    left = [d.key for d in after if d.key in {m.key for m in matching}]
    if left:
        raise VerificationFailed(
            f"Remove-MobileDevice answered, but Get-MobileDevice still shows {left}.", {"left": left}
        )
    return ConnectorResult(
        detail=f"Removed {len(matching)} ActiveSync partnership(s) of {mailbox}: "
        f"{', '.join(d.name for d in matching)}. "
        "The phone must set the account up again (with the new password) to sync.",
        data={"devices": [{"identity": d.key, "name": d.name} for d in matching]},
        read_back={"devices": [d.name for d in after]},
    )


# --- sending -------------------------------------------------------------------------------------


def block_rule_name(sender: str) -> str:
    return f"{BLOCK_RULE_PREFIX}{sender}"


def _block_rule(exo: ExchangeAdmin, sender: str) -> dict | None:
    try:
        [rule] = exo.invoke("Get-TransportRule", anchor=sender, Identity=block_rule_name(sender))
    except NotFound:
        return None
    return rule


def sending_block(exo: ExchangeAdmin, sender: str, *, comment: str) -> ConnectorResult:
    """A transport rule rejecting every message from ``sender``: takes effect for the whole
    organisation within minutes and is removed as a unit by undo."""
    name = block_rule_name(sender)
    undo_state = {"rule": name, "sender": sender}
    if _block_rule(exo, sender) is None:
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
        already = False
    else:
        already = True
    rule = _block_rule(exo, sender)
    seen = {key: (rule or {}).get(key) for key in ("State", "Mode", "From")}
    if rule is None or rule.get("State", "Enabled") != "Enabled" or sender not in (rule.get("From") or []):
        raise VerificationFailed(f"Transport rule '{name}' is missing, disabled or not for {sender}.", seen)
    return ConnectorResult(
        detail=f"Sending from {sender} was already blocked."
        if already
        else f"Transport rule '{name}' rejects mail from {sender}.",
        data={"rule": name},
        already_done=already,
        undo_state=undo_state,
        read_back=seen,
    )


def sending_unblock(exo: ExchangeAdmin, state: dict) -> ConnectorResult:
    try:
        exo.invoke("Remove-TransportRule", anchor=state["sender"], Identity=state["rule"], Confirm=False)
        already = False
    except NotFound:
        already = True
    if _block_rule(exo, state["sender"]) is not None:
        raise VerificationFailed(f"Remove-TransportRule answered, but '{state['rule']}' is still there.", {})
    return ConnectorResult(
        detail=f"Transport rule '{state['rule']}' was already removed." if already
        else f"{state['sender']} may send mail again (transport rule removed).",
        already_done=already,
        read_back={"rule": "not found (Get-TransportRule)"},
    )  # fmt: skip

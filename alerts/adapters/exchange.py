"""Exchange Online records of the O365 audit log: admin cmdlets and mailbox audit operations.

Cmdlets (``RecordType`` 1) carry their arguments as ``Parameters`` (a Name/Value list);
mailbox audit records (``Send``, ``UpdateInboxRules``, ``MailItemsAccessed``…) carry
``Item``, ``Folders`` and ``OperationProperties``. Each function returns ``(kind, upn,
fields)`` where ``fields`` are ``NormalisedEvent`` keyword arguments.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from alerts.adapters.base import AdapterContext
from alerts.adapters.fields import (
    as_list,
    email_addresses,
    json_value,
    lower_keys,
    name_values,
    parse_bool,
    parse_int,
    pick,
    snake,
    text,
    upn,
    words,
)
from alerts.adapters.principals import PrincipalName, folder_path, principal_name
from alerts.adapters.transport_rules import TRANSPORT_RULE_CMDLETS, transport_rule_event
from alerts.models import Event

RULE_CMDLETS = {
    "new-inboxrule": Event.Kind.INBOX_RULE_CREATED,
    "set-inboxrule": Event.Kind.INBOX_RULE_CHANGED,
    "enable-inboxrule": Event.Kind.INBOX_RULE_CHANGED,
    "remove-inboxrule": Event.Kind.INBOX_RULE_REMOVED,
    "disable-inboxrule": Event.Kind.INBOX_RULE_REMOVED,
}
_CLIENT_RULE_OPERATIONS = {
    "addmailboxrule": Event.Kind.INBOX_RULE_CREATED,
    "modifymailboxrule": Event.Kind.INBOX_RULE_CHANGED,
    "removemailboxrule": Event.Kind.INBOX_RULE_REMOVED,
}
_ADDRESS_PARAMETERS = frozenset(
    {"forwardto", "redirectto", "forwardasattachmentto", "from", "sentto", "exceptiffrom", "exceptifsentto"}
)
_NOISE_PARAMETERS = frozenset({"force", "alwaysdeleteoutlookrulesblob", "confirm", "whatif", "erroraction"})
_SUBJECT_CONDITION = re.compile(r"SubString[^()]*\((?:SubjectProperty|Subject)\)=([^)]*)\)", re.IGNORECASE)
_BODY_CONDITION = re.compile(r"SubString[^()]*\((?:BodyProperty|Body)\)=([^)]*)\)", re.IGNORECASE)
_SEND_OPERATIONS = frozenset({"send", "sendas", "sendonbehalf"})
FOLDER_PERMISSION_CMDLETS = frozenset({"add-mailboxfolderpermission", "set-mailboxfolderpermission"})
_FOLDER_PERMISSION_OPERATIONS = frozenset({"addfolderpermissions", "modifyfolderpermissions"})
_GRANT_ADD = re.compile(r"^@\{\s*add\s*=\s*\"?", re.IGNORECASE)
_SERVER_ACTION = re.compile(r"(?:torecipients)?action$")


def parameters(rec: dict[str, Any]) -> dict[str, Any]:
    return name_values(rec.get("parameters"))


def cmdlet_event(operation: str, rec: dict[str, Any], actor: str, ctx: AdapterContext) -> tuple[str, str, dict] | None:
    """The event of an Exchange cmdlet we understand, or ``None`` (the caller stores it as ``other``)."""
    key = operation.lower()
    params = parameters(rec)
    if key in RULE_CMDLETS:
        return _rule_cmdlet(RULE_CMDLETS[key], rec, params, actor, ctx)
    if key in TRANSPORT_RULE_CMDLETS:
        return transport_rule_event(params, actor)
    if key == "set-mailbox":
        return _set_mailbox(params, actor, ctx)
    if key == "add-mailboxpermission":
        grant = Grant(text(params.get("identity")), text(params.get("user")), words(params.get("accessrights")))
        extra = {
            "inheritance_type": text(params.get("inheritancetype")),
            "auto_mapping": parse_bool(params.get("automapping")),
        }
        return permission_event(Event.Kind.MAILBOX_PERMISSION_ADDED, grant, actor, ctx, **extra)
    if key in FOLDER_PERMISSION_CMDLETS:
        identity = text(params.get("identity"))
        grant = Grant(identity, text(params.get("user")), words(params.get("accessrights")), folder_path(identity))
        return permission_event(Event.Kind.MAILBOX_PERMISSION_ADDED, grant, actor, ctx)
    if key == "add-recipientpermission":
        rights = words(params.get("accessrights")) or ["SendAs"]
        grant = Grant(text(params.get("identity")), text(params.get("trustee")), rights)
        return permission_event(Event.Kind.SEND_AS_PERMISSION_ADDED, grant, actor, ctx)
    return None


@dataclass(frozen=True, slots=True)
class Grant:
    """A permission as the record names it: on which mailbox (and folder), to whom, which rights."""

    mailbox: str
    delegate: str
    rights: list[str]
    folder: str = ""


def permission_event(kind: str, grant: Grant, actor: str, ctx: AdapterContext, **extra: Any) -> tuple[str, str, dict]:
    """A delegation, filed under the mailbox's identity with whoever ran it as ``actor``.

    Both names are resolved to identities (``alerts.adapters.principals``), so a grant typed as
    ``Megan Bowen`` / ``NAMPR06A007\\allan`` is judged on UPNs; what the record wrote stays in
    ``mailbox_named`` / ``delegate_named``. A mailbox no identity answers to stays on the actor.
    """
    mailbox, delegate = principal_name(grant.mailbox), principal_name(grant.delegate)
    mailbox_upn = ctx.upn_of(mailbox)
    delegate_upn = "" if delegate.is_everyone else ctx.upn_of(delegate)
    attributes = {
        "mailbox": mailbox_upn or grant.mailbox,
        "mailbox_named": grant.mailbox,
        "delegate": delegate_upn or grant.delegate,
        "delegate_named": grant.delegate,
        "delegate_scope": _delegate_scope(delegate),
        "access_rights": grant.rights,
        "folder": grant.folder,
        "actor": actor,
        **extra,
    }
    attributes = {name: value for name, value in attributes.items() if value not in ("", None)}
    target = mailbox_upn or grant.mailbox
    return (
        kind,
        mailbox_upn or actor,
        _fields(attributes, target=f"{target}:{grant.folder}" if grant.folder else target),
    )


def _delegate_scope(delegate: PrincipalName) -> str:
    """``everyone`` (Default: all internal users), ``anonymous``, ``guest`` (#EXT#), or ``""`` for a person."""
    if delegate.is_everyone:
        return "anonymous" if delegate.name.lower() == "anonymous" else "everyone"
    return "guest" if delegate.is_guest else ""


def _rule_cmdlet(
    kind: str, rec: dict, params: dict[str, Any], actor: str, ctx: AdapterContext
) -> tuple[str, str, dict]:
    """``New-/Set-/Remove-InboxRule``. ``-Identity`` names the rule as ``mailbox\\rule``, its bare name or
    its ``RuleIdentity`` number; ``ObjectId`` holds ``…/<mailbox>\\<rule>``. A number is the rule's id,
    the key ``Set-InboxRule`` changes are merged on (``alerts.activity.rules``)."""
    path = text(params.get("identity")) or text(rec.get("objectid"))
    mailbox_named, _, rule_named = path.rpartition("\\")
    rule = rule_from_parameters(params)
    if rule_named.isdigit():
        rule["id"] = rule_named
        rule_named = ""
    name = text(params.get("name")) or rule_named.strip()
    rule["name"] = name
    mailbox_named = text(params.get("mailbox")) or mailbox_named
    mailbox = ctx.upn_of(principal_name(mailbox_named)) if mailbox_named else ""
    attributes = {
        "rule": rule,
        "forward_to": forward_targets(rule),
        "mailbox": mailbox or mailbox_named,
        "actor": actor,
    }
    return kind, mailbox or actor, _fields(attributes, target=name)


def rule_from_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """A cmdlet's parameters as a rule: snake_case keys, real booleans, address and word lists."""
    rule: dict[str, Any] = {}
    for name, value in params.items():
        if name in _NOISE_PARAMETERS or name in {"name", "identity", "mailbox"}:
            continue
        key = _KNOWN_SNAKE.get(name) or snake(name)
        if name in _ADDRESS_PARAMETERS:
            rule[key] = email_addresses(value)
        elif name.endswith("words"):
            rule[key] = words(value)
        elif isinstance(value, bool) or text(value).lower() in {"true", "false", "$true", "$false"}:
            rule[key] = parse_bool(value)
        else:
            rule[key] = value if isinstance(value, dict | list) else text(value)
    return rule


# Parameter names arrive lower-cased (name_values), so CamelCase can't be split: the ones
# detection reads are spelled out; any other keeps its lower-cased name.
_KNOWN_SNAKE = {
    "forwardto": "forward_to",
    "redirectto": "redirect_to",
    "forwardasattachmentto": "forward_as_attachment_to",
    "deletemessage": "delete_message",
    "softdeletemessage": "soft_delete_message",
    "permanentdelete": "permanent_delete",
    "markasread": "mark_as_read",
    "movetofolder": "move_to_folder",
    "copytofolder": "copy_to_folder",
    "stopprocessingrules": "stop_processing_rules",
    "subjectcontainswords": "subject_contains_words",
    "bodycontainswords": "body_contains_words",
    "subjectorbodycontainswords": "subject_or_body_contains_words",
    "fromaddresscontainswords": "from_address_contains_words",
    "recipientaddresscontainswords": "recipient_address_contains_words",
    "headercontainswords": "header_contains_words",
    "sentto": "sent_to",
    "from": "from",
    "enabled": "enabled",
    "priority": "priority",
    "hasattachment": "has_attachment",
    "markimportance": "mark_importance",
}


def forward_targets(rule: dict[str, Any]) -> list[str]:
    targets: list[str] = []
    for key in ("forward_to", "redirect_to", "forward_as_attachment_to"):
        for address in as_list(rule.get(key)):
            if address not in targets:
                targets.append(address)
    return targets


def _set_mailbox(params: dict[str, Any], actor: str, ctx: AdapterContext) -> tuple[str, str, dict] | None:
    mailbox_named = text(params.get("identity"))
    owner = ctx.upn_of(principal_name(mailbox_named)) or actor
    mailbox = owner if owner != actor else mailbox_named
    forwarding_keys = {"forwardingsmtpaddress", "forwardingaddress", "delivertomailboxandforward"}
    if forwarding_keys & params.keys():
        forward_to = email_addresses(params.get("forwardingsmtpaddress")) + email_addresses(
            params.get("forwardingaddress")
        )
        attributes = {
            "forward_to": list(dict.fromkeys(forward_to)),
            "forwarding_smtp_address": text(params.get("forwardingsmtpaddress")),
            "forwarding_address": text(params.get("forwardingaddress")),
            "deliver_to_mailbox_and_forward": parse_bool(params.get("delivertomailboxandforward")),
            "forwarding_cleared": not forward_to
            and ("forwardingsmtpaddress" in params or "forwardingaddress" in params),
            "mailbox": mailbox,
            "actor": actor,
        }
        return Event.Kind.MAILBOX_FORWARDING_SET, owner, _fields(attributes, target=mailbox)
    granted = text(params.get("grantsendonbehalfto"))
    if granted and not granted.lower().replace(" ", "").startswith("@{remove"):
        # "@{Add="allan"}" adds to the list; a plain value replaces it. Either way: who may send.
        delegate = _GRANT_ADD.sub("", granted).strip('}" ')
        grant = Grant(mailbox_named, delegate, ["SendOnBehalf"])
        return permission_event(Event.Kind.SEND_AS_PERMISSION_ADDED, grant, actor, ctx)
    return None


def mailbox_event(operation: str, rec: dict[str, Any], actor: str, ctx: AdapterContext) -> tuple[str, str, dict] | None:
    """Mailbox audit operations we understand (sending, client-side inbox rules, folder sharing, mail access)."""
    key = operation.lower()
    owner = upn(rec.get("mailboxownerupn"))
    if key in _FOLDER_PERMISSION_OPERATIONS:
        return _folder_permission(rec, owner, actor, ctx)
    if key in _SEND_OPERATIONS:
        item = lower_keys(json_value(rec.get("item")))
        subject = text(item.get("subject"))
        recipients = email_addresses(pick(item, "recipients", "torecipients", "to"))
        attributes = {
            "recipients": recipients,
            "recipient_count": len(recipients) or None,
            "internet_message_id": text(item.get("internetmessageid")),
            "size_bytes": parse_int(item.get("sizeinbytes")),
            "mailbox": owner,
            "send_as": key != "send",
            "client_info": text(rec.get("clientinfostring")),
        }
        return Event.Kind.MAIL_SENT, actor or owner, _fields(attributes, subject=subject)
    if key == "updateinboxrules":
        return _client_rule(rec, owner or actor, actor)
    if key == "mailitemsaccessed":
        props = name_values(rec.get("operationproperties"))
        folders = json_value(rec.get("folders"))
        paths, items = [], 0
        for folder in folders if isinstance(folders, list) else []:
            folder = lower_keys(folder)
            if text(folder.get("path")):
                paths.append(text(folder.get("path")))
            folder_items = json_value(folder.get("folderitems"))
            items += len(folder_items) if isinstance(folder_items, list) else 0
        attributes = {
            "access_type": text(props.get("mailaccesstype")),
            "is_throttled": parse_bool(props.get("isthrottled")),
            "item_count": parse_int(rec.get("operationcount")) or items,
            "folders": paths[:50],
            "mailbox": owner,
            "app_id": text(rec.get("appid")),
            "client_app_id": text(rec.get("clientappid")),
            "client_info": text(rec.get("clientinfostring")),
        }
        return Event.Kind.MAIL_ITEMS_ACCESSED, actor or owner, _fields(attributes)
    return None


def _folder_permission(rec: dict[str, Any], owner: str, actor: str, ctx: AdapterContext) -> tuple[str, str, dict]:
    """``AddFolderPermissions`` / ``ModifyFolderPermissions``: a folder shared from Outlook (mailbox audit).

    ``Item.ParentFolder`` names the folder and the member (``MemberUpn``: an address, ``Everyone``
    for Default, ``Anonymous``) with the rights it now has (``MemberRights``: ``ReadAny, Create…``).
    """
    folder = lower_keys(lower_keys(json_value(rec.get("item"))).get("parentfolder"))
    member = text(folder.get("memberupn")) or text(folder.get("membersid"))
    rights = [right.strip() for right in text(folder.get("memberrights")).split(",") if right.strip()]
    path = text(folder.get("path")) or ("\\" + text(folder.get("name")) if text(folder.get("name")) else "")
    grant = Grant(owner or text(rec.get("mailboxguid")), member, rights, path)
    return permission_event(Event.Kind.MAILBOX_PERMISSION_ADDED, grant, actor, ctx)


def _client_rule(rec: dict[str, Any], owner: str, actor: str) -> tuple[str, str, dict]:
    """``UpdateInboxRules``: a rule saved from Outlook, its actions as JSON in ``RuleActions`` (or, in
    the newer shape, the whole rule as JSON in ``ServerRule``: ``Actions[].Recipients[].Values[].Value``)."""
    props = name_values(rec.get("operationproperties"))
    kind = _CLIENT_RULE_OPERATIONS.get(text(props.get("ruleoperation")).lower(), Event.Kind.INBOX_RULE_CHANGED)
    server_rule = lower_keys(json_value(props.get("serverrule")))
    name = text(props.get("rulename")) or text(server_rule.get("name"))
    condition = text(props.get("rulecondition")) or json.dumps(server_rule.get("condition") or "")[:1000]
    rule: dict[str, Any] = {
        "name": name,
        "state": text(props.get("rulestate")) or text(server_rule.get("state")),
        "condition": condition[:1000],
    }
    rule_id = text(props.get("ruleid")) or text(server_rule.get("id"))
    if rule_id:
        rule["id"] = rule_id
    subject_words = [word.strip() for word in _SUBJECT_CONDITION.findall(condition) if word.strip()]
    body_words = [word.strip() for word in _BODY_CONDITION.findall(condition) if word.strip()]
    if subject_words:
        rule["subject_contains_words"] = subject_words
    if body_words:
        rule["body_contains_words"] = body_words
    if "exitafterexecution" in rule["state"].lower().replace(" ", ""):
        rule["stop_processing_rules"] = True
    for action in _rule_actions(props.get("ruleactions")) + _rule_actions(server_rule.get("actions")):
        _apply_client_action(rule, action)
    attributes = {"rule": rule, "forward_to": forward_targets(rule), "mailbox": owner, "actor": actor}
    return kind, owner or actor, _fields(attributes, target=name)


def _rule_actions(value: Any) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [lower_keys(action) for action in value if isinstance(action, dict)] if isinstance(value, list) else []


def _apply_client_action(rule: dict[str, Any], action: dict[str, Any]) -> None:
    """One action of an Outlook rule; ``ServerRule`` spells the types ``ForwardToRecipientsAction``…"""
    action_type = _SERVER_ACTION.sub("", text(action.get("actiontype")).lower())
    recipients = _addresses_within(action.get("recipients"))
    flags = text(action.get("forwardflags")).lower()
    if action_type == "forward" and "attachment" in flags:
        rule.setdefault("forward_as_attachment_to", []).extend(recipients)
    elif action_type == "forward" and ("preservesender" in flags or "donotmunge" in flags):
        rule.setdefault("redirect_to", []).extend(recipients)
    elif action_type == "forwardasattachment":
        rule.setdefault("forward_as_attachment_to", []).extend(recipients)
    elif action_type in {"forward", "forwardto"}:
        rule.setdefault("forward_to", []).extend(recipients)
    elif action_type in {"redirect", "redirectto", "delegate"}:
        rule.setdefault("redirect_to", []).extend(recipients)
    elif action_type in {"delete", "softdelete", "permanentdelete", "harddelete"}:
        rule["delete_message"] = True
    elif action_type in {"markasread", "markread"}:
        rule["mark_as_read"] = True
    elif action_type in {"move", "movetofolder"}:
        folder = pick(action, "folder", "foldername", "folderpath", "folderid", "folderentryid")
        rule["move_to_folder"] = text(folder) or "(unnamed)"
    elif action_type == "defer":
        rule["client_only"] = True
    elif action_type:
        rule.setdefault("other_actions", []).append(action_type)


def _addresses_within(value: Any) -> list[str]:
    """Every address in a nested recipients value (``[{"Values": [{"PropTag": …, "Value": "a@b"}]}]``)."""
    if isinstance(value, dict):
        return list(dict.fromkeys(a for item in value.values() for a in _addresses_within(item)))
    if isinstance(value, list):
        return list(dict.fromkeys(a for item in value for a in _addresses_within(item)))
    return [address for address in email_addresses(value) if "@" in address]


def _fields(attributes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    fields["attributes"] = attributes
    return fields

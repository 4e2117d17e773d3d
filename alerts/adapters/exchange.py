"""Exchange Online records of the O365 audit log: admin cmdlets and mailbox audit operations.

Cmdlets (``RecordType`` 1) carry their arguments as ``Parameters`` (a Name/Value list);
mailbox audit records (``Send``, ``UpdateInboxRules``, ``MailItemsAccessed``…) carry
``Item``, ``Folders`` and ``OperationProperties``. Each function returns ``(kind, upn,
fields)`` where ``fields`` are ``NormalisedEvent`` keyword arguments.
"""

import json
import re
from typing import Any

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


def parameters(rec: dict[str, Any]) -> dict[str, Any]:
    return name_values(rec.get("parameters"))


def cmdlet_event(operation: str, rec: dict[str, Any], actor: str) -> tuple[str, str, dict] | None:
    """The event of an Exchange cmdlet we understand, or ``None`` (the caller stores it as ``other``)."""
    key = operation.lower()
    params = parameters(rec)
    if key in RULE_CMDLETS:
        return _rule_cmdlet(RULE_CMDLETS[key], rec, params, actor)
    if key == "set-mailbox":
        return _set_mailbox(params, actor)
    if key in {"add-mailboxpermission", "add-mailboxfolderpermission"}:
        mailbox = text(params.get("identity"))
        attributes = {
            "delegate": _principal(params.get("user")),
            "access_rights": words(params.get("accessrights")),
            "mailbox": mailbox,
            "actor": actor,
            "inheritance_type": text(params.get("inheritancetype")),
            "auto_mapping": parse_bool(params.get("automapping")),
        }
        return Event.Kind.MAILBOX_PERMISSION_ADDED, _owner(mailbox, actor), _fields(attributes, target=mailbox)
    if key == "add-recipientpermission":
        mailbox = text(params.get("identity"))
        attributes = {
            "delegate": _principal(params.get("trustee")),
            "access_rights": words(params.get("accessrights")) or ["SendAs"],
            "mailbox": mailbox,
            "actor": actor,
        }
        return Event.Kind.SEND_AS_PERMISSION_ADDED, _owner(mailbox, actor), _fields(attributes, target=mailbox)
    return None


def _rule_cmdlet(kind: str, rec: dict, params: dict[str, Any], actor: str) -> tuple[str, str, dict]:
    name = text(params.get("name")) or _rule_name_from_path(text(params.get("identity")) or text(rec.get("objectid")))
    mailbox = text(params.get("mailbox"))
    rule = rule_from_parameters(params)
    rule["name"] = name
    attributes = {"rule": rule, "forward_to": forward_targets(rule), "mailbox": mailbox, "actor": actor}
    return kind, _owner(mailbox, actor), _fields(attributes, target=name)


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


def _set_mailbox(params: dict[str, Any], actor: str) -> tuple[str, str, dict] | None:
    mailbox = text(params.get("identity"))
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
        return Event.Kind.MAILBOX_FORWARDING_SET, _owner(mailbox, actor), _fields(attributes, target=mailbox)
    if "grantsendonbehalfto" in params:
        attributes = {
            "delegate": _principal(params.get("grantsendonbehalfto")),
            "access_rights": ["SendOnBehalf"],
            "mailbox": mailbox,
            "actor": actor,
        }
        return Event.Kind.SEND_AS_PERMISSION_ADDED, _owner(mailbox, actor), _fields(attributes, target=mailbox)
    return None


def mailbox_event(operation: str, rec: dict[str, Any], actor: str) -> tuple[str, str, dict] | None:
    """Mailbox audit operations we understand (sending, client-side inbox rules, mail access)."""
    key = operation.lower()
    owner = upn(rec.get("mailboxownerupn"))
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


def _client_rule(rec: dict[str, Any], owner: str, actor: str) -> tuple[str, str, dict]:
    """``UpdateInboxRules``: a rule saved from Outlook, its actions as JSON in ``RuleActions``."""
    props = name_values(rec.get("operationproperties"))
    kind = _CLIENT_RULE_OPERATIONS.get(text(props.get("ruleoperation")).lower(), Event.Kind.INBOX_RULE_CHANGED)
    name = text(props.get("rulename"))
    condition = text(props.get("rulecondition"))
    rule: dict[str, Any] = {"name": name, "state": text(props.get("rulestate")), "condition": condition[:1000]}
    subject_words = [word.strip() for word in _SUBJECT_CONDITION.findall(condition) if word.strip()]
    body_words = [word.strip() for word in _BODY_CONDITION.findall(condition) if word.strip()]
    if subject_words:
        rule["subject_contains_words"] = subject_words
    if body_words:
        rule["body_contains_words"] = body_words
    if "exitafterexecution" in rule["state"].lower().replace(" ", ""):
        rule["stop_processing_rules"] = True
    for action in _rule_actions(props.get("ruleactions")):
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
    action_type = text(action.get("actiontype")).lower()
    recipients = email_addresses(action.get("recipients"))
    flags = text(action.get("forwardflags")).lower()
    if action_type == "forward" and "attachment" in flags:
        rule.setdefault("forward_as_attachment_to", []).extend(recipients)
    elif action_type == "forward" and ("preservesender" in flags or "donotmunge" in flags):
        rule.setdefault("redirect_to", []).extend(recipients)
    elif action_type in {"forward", "forwardto"}:
        rule.setdefault("forward_to", []).extend(recipients)
    elif action_type in {"redirect", "redirectto", "delegate"}:
        rule.setdefault("redirect_to", []).extend(recipients)
    elif action_type in {"delete", "permanentdelete", "harddelete"}:
        rule["delete_message"] = True
    elif action_type in {"markasread", "markread"}:
        rule["mark_as_read"] = True
    elif action_type in {"move", "movetofolder"}:
        rule["move_to_folder"] = text(pick(action, "folder", "foldername", "folderpath", "folderid")) or "(unnamed)"
    elif action_type == "deferaction":
        rule["client_only"] = True
    elif action_type:
        rule.setdefault("other_actions", []).append(action_type)


def _rule_name_from_path(path: str) -> str:
    """``…/example.onmicrosoft.com/<guid>\\Rule name`` → ``Rule name``."""
    return path.rsplit("\\", 1)[-1].strip() if path else ""


def _principal(value: Any) -> str:
    addresses = email_addresses(value)
    return addresses[0] if addresses else text(value)


def _owner(mailbox: str, actor: str) -> str:
    """The identity an Exchange change belongs to: the mailbox when it names an address, else who ran it."""
    addresses = email_addresses(mailbox) if "@" in mailbox else []
    return addresses[0] if addresses else actor


def _fields(attributes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    fields["attributes"] = attributes
    return fields

"""Inbox rules and mailbox forwarding as the detectors and playbooks see them.

The adapters store a rule's parameters (``New-InboxRule``, ``Set-InboxRule``, Outlook's
``UpdateInboxRules``) under ``attributes["rule"]`` with snake_case keys (``forward_to``,
``move_to_folder``, ``subject_or_body_contains_words``…); mailbox forwarding (``Set-Mailbox
ForwardingSmtpAddress``) under ``attributes["forward_to"]``. Keys are compared loosely and
values read as lists, ``a;b`` strings or ``smtp:``-prefixed addresses, so records posted in our
own ``events`` schema with Exchange's parameter names work too.
"""

import fnmatch
import re
from dataclasses import dataclass, field

from alerts.activity.fields import attr, attribute_list, normalised, truthy
from alerts.models import Event

# Bounded like RFC 5321 (local part <= 64, labels <= 63) so the scan of attacker text stays linear.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,16}")
FORWARD_KEYS = ("ForwardTo", "ForwardAsAttachmentTo", "RedirectTo")
KEYWORD_KEYS = (
    "SubjectContainsWords",
    "SubjectOrBodyContainsWords",
    "BodyContainsWords",
    "HeaderContainsWords",
    "FromAddressContainsWords",
)
DELETE_KEYS = ("DeleteMessage", "SoftDeleteMessage", "PermanentDelete")


def recipients(value) -> list[str]:
    """Addresses in a forwarding value, lower-cased; entries without an address are kept as names."""
    found: list[str] = []
    for item in attribute_list(value):
        addresses = ADDRESS.findall(item)
        if addresses:
            found.extend(address.lower() for address in addresses)
        else:
            found.append(item.strip())
    return list(dict.fromkeys(found))


# Folders nobody files their own mail into, by their names in Outlook's common languages, as
# case-insensitive patterns (the public rule sets match ``*RSS*``): moving mail there hides it.
HIDDEN_FOLDERS = [
    "*RSS*",
    "Conversation History",
    "Historique des conversations",
    "Unterhaltungsverlauf",
    "Historial de conversaciones",
    "Cronologia conversazioni",
    "Histórico de Conversas",
    "Gespreksgeschiedenis",
    "Historia konwersacji",
]
# Rarely used folders people still file their own mail into (archiving, spam, clean-up).
USERS_OWN_FOLDERS = [
    "Archive",
    "Archives",
    "Archiv",
    "Archivo",
    "Archivio",
    "Archief",
    "Junk*",
    "Courrier indésirable",
    "Correo no deseado",
    "Posta indesiderata",
    "Ongewenste e-mail",
    "Deleted Items",
    "Éléments supprimés",
    "Gelöschte Elemente",
    "Elementos eliminados",
    "Posta eliminata",
    "Verwijderde items",
]
# A folder given by its id (Graph, EWS, Outlook's entry id) rather than its name.
_FOLDER_ID = re.compile(r"^[A-Za-z0-9+/=_-]{40,}$")


@dataclass
class InboxRule:
    name: str
    key: str = ""  # what identifies the rule across its changes: its id, else its name
    forwards: dict[str, list[str]] = field(default_factory=dict)
    move_to_folder: str = ""
    deletes: bool = False
    marks_read: bool = False
    stops_processing: bool = False
    keywords: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # From and FromAddressContainsWords conditions

    @property
    def folder_name(self) -> str:
        """The last segment of the folder path (``:\\Inbox\\RSS Feeds`` -> ``RSS Feeds``)."""
        return re.split(r"[\\/]", self.move_to_folder.strip())[-1].strip()

    @property
    def folder_is_id(self) -> bool:
        """The rule names its folder by id: where the mail goes cannot be read from the record."""
        return bool(_FOLDER_ID.match(self.move_to_folder.strip()))


def folder_matches(folder: str, patterns: list[str]) -> bool:
    """Case-insensitive shell-style patterns (``*RSS*``), as the public rule sets match folder names."""
    folder = folder.strip().lower()
    return bool(folder) and any(fnmatch.fnmatchcase(folder, pattern.strip().lower()) for pattern in patterns)


def rule_key(event: Event) -> str:
    """The rule an event is about: its id when the record has one, else its name (case-insensitive);
    a rule with neither is only itself, so unnamed rules never overwrite each other."""
    params = normalised(attr(event, "rule") or event.attributes)
    rule_id = str(params.get("id") or params.get("ruleid") or "").strip()
    if rule_id:
        return f"id:{rule_id}"
    name = str(params.get("name") or event.target or "").strip().lower()
    return f"name:{name}" if name else f"event:{event.pk}"


def inbox_rule(event: Event, known: dict | None = None) -> InboxRule:
    """The rule as ``event`` leaves it; ``known`` is the rule's earlier parameters (``rule_states``),
    which a ``Set-InboxRule`` naming only what it changes is laid over."""
    settings = {**(known or {}), **_present(normalised(attr(event, "rule") or event.attributes))}
    return inbox_rule_of(settings, name=event.target or "", key=rule_key(event))


def inbox_rule_of(settings: dict, *, name: str = "", key: str = "") -> InboxRule:
    """A rule from its settings in any spelling (an audit record's, ``Get-InboxRule``'s)."""
    params = normalised(settings)
    name = str(params.get("name") or name or "").strip()
    forwards = {key: recipients(params.get(key.lower())) for key in FORWARD_KEYS}
    keywords = [word for key in KEYWORD_KEYS for word in attribute_list(params.get(key.lower()))]
    senders = recipients(params.get("from")) + attribute_list(params.get("fromaddresscontainswords"))
    return InboxRule(
        name=name,
        key=key or f"name:{name.lower()}",
        forwards={key: value for key, value in forwards.items() if value},
        move_to_folder=str(params.get("movetofolder") or ""),
        deletes=any(truthy(params.get(key.lower())) for key in DELETE_KEYS),
        marks_read=truthy(params.get("markasread")),
        stops_processing=truthy(params.get("stopprocessingrules")),
        keywords=keywords,
        senders=list(dict.fromkeys(senders)),
    )


def rule_states(events: list[Event]) -> dict[int, InboxRule]:
    """Each rule event (sorted by time) as the rule stood after it, changes merged onto the rule's
    earlier state; a removal forgets the rule. ``{event.pk: InboxRule}``."""
    known: dict[str, dict] = {}
    states: dict[int, InboxRule] = {}
    for event in events:
        key = rule_key(event)
        if event.kind == Event.Kind.INBOX_RULE_REMOVED:
            known.pop(key, None)
            states[event.pk] = inbox_rule(event)
            continue
        states[event.pk] = inbox_rule(event, known.get(key))
        known[key] = {**known.get(key, {}), **_present(normalised(attr(event, "rule") or event.attributes))}
    return states


def _present(params: dict) -> dict:
    return {name: value for name, value in params.items() if value not in (None, "", [], {})}


def mailbox_forwarding(event: Event) -> list[str]:
    """Forwarding addresses set on a mailbox (``Set-Mailbox``); empty when forwarding was cleared."""
    return recipients(attr(event, "forward_to"))


# A transport rule's copy actions (``alerts.adapters.transport_rules``) in the words a sentence needs.
TRANSPORT_ACTIONS = {
    "blind_copy_to": "blind-copies",
    "redirect_message_to": "redirects",
    "copy_to": "copies",
    "add_to_recipients": "adds as a recipient",
}


def transport_rule_targets(event: Event) -> dict[str, list[str]]:
    """``{action: addresses}`` of a transport rule change: where the organisation's mail is copied."""
    rule = normalised(attr(event, "transport_rule"))
    found = {action: recipients(rule.get(action.replace("_", ""))) for action in TRANSPORT_ACTIONS}
    return {action: addresses for action, addresses in found.items() if addresses}

"""Inbox rules and mailbox forwarding as the detectors and playbooks see them.

The adapters store a rule's parameters (``New-InboxRule``, ``Set-InboxRule``, Outlook's
``UpdateInboxRules``) under ``attributes["rule"]`` with snake_case keys (``forward_to``,
``move_to_folder``, ``subject_or_body_contains_words``…); mailbox forwarding (``Set-Mailbox
ForwardingSmtpAddress``) under ``attributes["forward_to"]``. Keys are compared loosely and
values read as lists, ``a;b`` strings or ``smtp:``-prefixed addresses, so records posted in our
own ``events`` schema with Exchange's parameter names work too.
"""

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


@dataclass
class InboxRule:
    name: str
    forwards: dict[str, list[str]] = field(default_factory=dict)
    move_to_folder: str = ""
    deletes: bool = False
    marks_read: bool = False
    stops_processing: bool = False
    keywords: list[str] = field(default_factory=list)

    @property
    def folder_name(self) -> str:
        """The last segment of the folder path (``:\\Inbox\\RSS Feeds`` -> ``RSS Feeds``)."""
        return re.split(r"[\\/]", self.move_to_folder.strip())[-1].strip()


def inbox_rule(event: Event) -> InboxRule:
    return inbox_rule_of(attr(event, "rule") or event.attributes, name=event.target or "")


def inbox_rule_of(settings: dict, *, name: str = "") -> InboxRule:
    """A rule from its settings in any spelling (an audit record's, ``Get-InboxRule``'s)."""
    params = normalised(settings)
    name = str(params.get("name") or name or "").strip()
    forwards = {key: recipients(params.get(key.lower())) for key in FORWARD_KEYS}
    keywords = [word for key in KEYWORD_KEYS for word in attribute_list(params.get(key.lower()))]
    return InboxRule(
        name=name,
        forwards={key: value for key, value in forwards.items() if value},
        move_to_folder=str(params.get("movetofolder") or ""),
        deletes=any(truthy(params.get(key.lower())) for key in DELETE_KEYS),
        marks_read=truthy(params.get("markasread")),
        stops_processing=truthy(params.get("stopprocessingrules")),
        keywords=keywords,
    )


def mailbox_forwarding(event: Event) -> list[str]:
    """Forwarding addresses set on a mailbox (``Set-Mailbox``); empty when forwarding was cleared."""
    return recipients(attr(event, "forward_to"))

"""How Exchange names a mailbox or a person, and what that name can be matched against.

Cmdlets accept any of a recipient's names and the audit log records what the admin typed:
``megan@contoso.com``, the alias ``megan``, the display name ``Megan Bowen``, a distinguished
name (``CN=megan,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=…``),
a canonical path (``EURPR07A010.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/
contoso.onmicrosoft.com/Megan Bowen``), a SAM-style ``DOMAIN\\user``, an object id, and for
folders ``megan:\\Inbox``. ``principal_name`` reduces each to the one name an identity can be
looked up by (``alerts.selectors.principals``); adapters never query, they ask the context.
"""

import re
from dataclasses import dataclass

from alerts.adapters.fields import email_addresses

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DN_PART = re.compile(r"^(?:CN|OU|DC)=", re.IGNORECASE)
# Folder permissions name these instead of a person: every internal user, and anyone with a link.
EVERYONE = frozenset({"default", "everyone", "anonymous"})
GUEST_MARK = "#ext#"


@dataclass(frozen=True, slots=True)
class PrincipalName:
    """One recipient name, reduced: an address, an object id, or a bare name (alias or display name)."""

    text: str  # as the record wrote it
    address: str = ""
    object_id: str = ""
    name: str = ""

    @property
    def is_everyone(self) -> bool:
        """``Default`` / ``Anonymous`` of a folder permission: all internal users, or anyone."""
        return not self.address and self.name.lower() in EVERYONE

    @property
    def is_guest(self) -> bool:
        """A guest account (``someone_gmail.com#EXT#@contoso.onmicrosoft.com``): a person from outside."""
        return GUEST_MARK in self.address


def principal_name(value: str) -> PrincipalName:
    """The name an identity can be found by, whatever form Exchange wrote ``value`` in."""
    text = (value or "").strip()
    if not text:
        return PrincipalName(text="")
    if GUEST_MARK + "@" in text.lower() and " " not in text:  # '#' is no address character
        return PrincipalName(text=text, address=text.lower())
    if "@" in text:
        addresses = email_addresses(text)
        if addresses and "@" in addresses[0]:
            return PrincipalName(text=text, address=addresses[0])
    if _GUID.match(text):
        return PrincipalName(text=text, object_id=text.lower())
    return PrincipalName(text=text, name=_bare_name(text))


def _bare_name(text: str) -> str:
    text = text.split(":\\", 1)[0] if ":\\" in text else text  # megan:\Inbox -> megan
    if _DN_PART.match(text):
        first = re.split(r"(?<!\\),", text, maxsplit=1)[0]
        return first.split("=", 1)[1].replace("\\,", ",").strip()
    if "/" in text:  # a canonical name: the object is the last segment
        text = text.rstrip("/").rsplit("/", 1)[-1]
    if "\\" in text:  # DOMAIN\user
        text = text.rsplit("\\", 1)[-1]
    return text.strip()


def folder_path(value: str) -> str:
    """``megan:\\Inbox\\Sub`` -> ``\\Inbox\\Sub``; a name without a folder part gives the top of the mailbox."""
    text = (value or "").strip()
    return "\\" + text.split(":\\", 1)[1] if ":\\" in text else ""

"""Mailbox delegations as the detectors and playbooks see them: who got which right on which mailbox.

The Exchange adapter stores every grant (``Add-MailboxPermission``, ``Add-RecipientPermission``,
``Set-Mailbox -GrantSendOnBehalfTo``, folder permissions from cmdlets or Outlook) on the mailbox's
identity with ``mailbox``, ``delegate`` (UPNs when they resolved), ``actor``, ``access_rights``,
``folder`` and ``delegate_scope`` (``everyone`` for Default, ``anonymous``, ``guest`` for #EXT#).
"""

from collections.abc import Callable
from dataclasses import dataclass

from alerts.activity.fields import attribute_list, normalised, text
from alerts.activity.rules import folder_matches
from alerts.models import Event

# Folder rights and roles that let the delegate read the folder's mail (``ReadAny`` is how the
# mailbox audit log spells it); FolderVisible, AvailabilityOnly or LimitedDetails do not.
FOLDER_READ_RIGHTS = [
    "ReadItems",
    "ReadAny",
    "Reviewer",
    "Author",
    "NonEditingAuthor",
    "Editor",
    "PublishingAuthor",
    "PublishingEditor",
    "Owner",
]
# Folders people share with the whole company on purpose (calendars, contacts), in a few languages.
SHARED_BY_HABIT = [
    "Calendar*",
    "Calendrier*",
    "Kalender*",
    "Calendario*",
    "Agenda*",
    "Contacts*",
    "Kontakte*",
    "Contactos*",
    "Contatti*",
    "PersonMetadata",
    "Tasks",
]


@dataclass(frozen=True)
class Delegation:
    mailbox: str
    delegate: str
    actor: str
    rights: list[str]
    folder: str  # "" for the whole mailbox
    scope: str  # "everyone", "anonymous", "guest" or "" (a person)

    @property
    def folder_name(self) -> str:
        return self.folder.replace("/", "\\").strip("\\").rsplit("\\", 1)[-1]

    def describe(self) -> str:
        who = {"everyone": "everyone in the organisation (Default)", "anonymous": "anonymous users"}.get(
            self.scope, self.delegate or "someone"
        )
        where = f"folder {self.folder} of {self.mailbox}" if self.folder else f"mailbox {self.mailbox}"
        return f"{'/'.join(self.rights)} on {where} to {who}"


def delegation(event: Event) -> Delegation:
    """The grant an event records (works on model rows and the playbook's slotted rows alike)."""
    facts = normalised(event.attributes)
    rights = attribute_list(facts.get("accessrights"))
    if not rights and event.kind == Event.Kind.SEND_AS_PERMISSION_ADDED:
        rights = ["SendAs"]
    return Delegation(
        mailbox=text(facts.get("mailbox")).lower(),
        delegate=text(facts.get("delegate")).lower(),
        actor=text(facts.get("actor")).lower(),
        rights=rights,
        folder=text(facts.get("folder")),
        scope=text(facts.get("delegatescope")).lower(),
    )


def same_account(name: str, upn: str) -> bool:
    """Names are UPNs once resolved at ingest; an unresolved alias still matches its UPN's local part."""
    name, upn = name.strip().lower(), upn.lower()
    if not name or not upn:
        return False
    return name == upn or ("@" not in name and name == upn.partition("@")[0])


def is_outsider(grant: Delegation, is_internal: Callable[[str], bool]) -> bool:
    """A guest (#EXT#) or an address outside the accepted domains; a bare name is a directory object."""
    return grant.scope in {"guest", "anonymous"} or ("@" in grant.delegate and not is_internal(grant.delegate))


def folder_exposure(
    grant: Delegation, is_internal: Callable[[str], bool], *, read_rights: list[str], ignored: list[str]
) -> str:
    """Why a folder grant exposes mail (``everyone``, ``anonymous``, ``outsider``), or ``""``.

    Only rights that read mail count, and folders shared by habit (calendars, contacts) never do;
    sharing a mail folder with one colleague is what assistants are for.
    """
    if not grant.folder or folder_matches(grant.folder_name, ignored):
        return ""
    wanted = {right.lower() for right in read_rights}
    if not any(right.lower() in wanted for right in grant.rights):
        return ""
    if grant.scope in {"everyone", "anonymous"}:
        return grant.scope
    return "outsider" if is_outsider(grant, is_internal) else ""

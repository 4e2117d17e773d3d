"""Soft-deleting the phishing mail a compromised account sent, and bringing it back.

Graph's ``/messages`` answers 10 items a page by default: every read here asks for ``$top=1000``
and still follows ``@odata.nextLink`` to the end, so no copy is left behind. A moved message gets a
new id, so messages are found by Internet message id (or sender and subject) each time.

The undo state is what *is* in Recoverable Items after the moves, read back, with the folder each
copy came from; the plan of moves is stored before the first move (``keep``), so a retry after a
lost reply (which finds nothing left to move) still records what the first attempt moved.
"""

from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone

from investigations.connectors import reads
from investigations.connectors.base import ConnectorResult, PermanentError, VerificationFailed
from m365 import permissions, times
from m365.client import M365Client, NotFound
from m365.models import M365Feed

PERMISSION = permissions.for_action("soft_delete_messages")
RECOVERABLE_ITEMS = "recoverableitemsdeletions"
PAGE = "1000"  # the most Graph gives in one page of messages
TRACE_LOOKBACK = timedelta(days=10)  # the longest interval one message trace query may span
SELECT = "id,parentFolderId,internetMessageId,from,subject"


class Mailboxes:
    """The messages of one action (by Internet message ids, or by sender and subject) across mailboxes."""

    def __init__(self, client: M365Client, *, message_ids: Iterable[str], subject: str, sender: str):
        self.client = client
        self.message_ids = list(message_ids)
        self.subject = subject
        self.sender = sender.lower()
        if not self.message_ids and not subject:
            raise PermanentError("soft_delete_messages needs internet_message_ids or a subject in its parameters.")

    def _filters(self) -> list[str]:
        if self.message_ids:
            return [f"internetMessageId eq {reads.odata_string(message_id)}" for message_id in self.message_ids]
        return [f"subject eq {reads.odata_string(self.subject)}"]

    def find(self, mailbox: str, *, folder: str | None = None) -> list[dict]:
        """Every copy in ``mailbox`` (its visible folders, or ``folder``), all pages read."""
        path = f"users/{quote(mailbox, safe='@')}/" + (f"mailFolders/{folder}/messages" if folder else "messages")
        found = []
        for odata_filter in self._filters():
            params = {"$filter": odata_filter, "$select": SELECT, "$top": PAGE}
            try:
                rows = [
                    row for page in self.client.graph_pages(path, params=params, permission=PERMISSION) for row in page
                ]
            except NotFound:  # no such mailbox (an external recipient)
                return []
            found += [row for row in rows if self.message_ids or _sender(row) == self.sender]
        return found

    def move(self, mailbox: str, message_id: str, destination: str) -> None:
        path = f"users/{quote(mailbox, safe='@')}/messages/{quote(message_id)}/move"
        with suppress(NotFound):  # moved or deleted meanwhile: the read-back decides
            self.client.graph("POST", path, permission=PERMISSION, json={"destinationId": destination})

    def recipients(self, given: list[str] | None) -> list[str]:
        """Whose mailboxes hold the messages: given, else every recipient message trace shows (10 days)."""
        if given:
            return sorted({address.lower() for address in given})
        now = timezone.now()
        odata_filter = (
            f"receivedDateTime ge {times.iso_z(now - TRACE_LOOKBACK)} and receivedDateTime le {times.iso_z(now)} "
            f"and senderAddress eq {reads.odata_string(self.sender)}"
        )
        wanted, recipients = set(self.message_ids), set()
        pages = self.client.graph_pages(
            "admin/exchange/tracing/messageTraces",
            params={"$filter": odata_filter},
            permission=permissions.for_feed(M365Feed.MESSAGE_TRACE),
        )
        for page in pages:
            for row in page:
                if (row.get("messageId") in wanted) if wanted else row.get("subject") == self.subject:
                    recipients.add(row["recipientAddress"].lower())
        return sorted(recipients)


def _sender(row: dict) -> str:
    return (row.get("from") or {}).get("emailAddress", {}).get("address", "").lower()


def soft_delete(mail: Mailboxes, recipients: list[str], *, keep: Callable[[dict], dict]) -> ConnectorResult:
    """Move every visible copy to Recoverable Items (Deletions): gone from the user's view, recoverable."""
    found = {mailbox: mail.find(mailbox) for mailbox in recipients}
    plan = [
        {"mailbox": mailbox, "internet_message_id": row.get("internetMessageId"), "folder": row.get("parentFolderId")}
        for mailbox, rows in found.items()
        for row in rows
    ]
    earlier = keep({"moved": plan}).get("moved", [])  # the first attempt's plan, when this is a retry
    for mailbox, rows in found.items():
        for row in rows:
            mail.move(mailbox, row["id"], RECOVERABLE_ITEMS)
    left = {mailbox: len(rows) for mailbox in recipients if (rows := mail.find(mailbox))}
    if left:
        raise VerificationFailed("Copies are still in the mailboxes after the move.", {"left": left})
    folders = {(e["mailbox"], e["internet_message_id"]): e.get("folder") for e in [*earlier, *plan]}
    in_recoverable = [
        {"mailbox": mailbox, "internet_message_id": row.get("internetMessageId"),
         "folder": folders.get((mailbox, row.get("internetMessageId"))) or "inbox"}
        for mailbox in sorted({e["mailbox"] for e in [*earlier, *plan]})
        for row in mail.find(mailbox, folder=RECOVERABLE_ITEMS)
    ]  # fmt: skip
    read_back = {"left_in_mailboxes": 0, "in_recoverable_items": len(in_recoverable)}
    if not in_recoverable:
        return ConnectorResult(
            detail=f"No copy of those messages is in the {len(recipients)} mailbox(es) read, nor in Recoverable Items.",
            already_done=True,
            read_back=read_back,
        )
    mailboxes = len({entry["mailbox"] for entry in in_recoverable})
    return ConnectorResult(
        detail=f"{len(in_recoverable)} message(s) in Recoverable Items of {mailboxes} mailbox(es)"
        + (f" ({len(plan)} moved by this attempt)." if len(plan) != len(in_recoverable) else "."),
        data={"messages": len(in_recoverable), "mailboxes": mailboxes},
        already_done=not plan,
        undo_state={"moved": in_recoverable},
        read_back=read_back,
    )


def restore(client: M365Client, state: dict) -> ConnectorResult:
    """Move each copy the soft-delete put in Recoverable Items back to the folder it came from."""
    entries = state.get("moved") or []
    restored, missing = 0, []
    for entry in entries:
        mail = Mailboxes(client, message_ids=[entry["internet_message_id"]], subject="", sender="")
        copies = mail.find(entry["mailbox"], folder=RECOVERABLE_ITEMS)
        for row in copies:
            mail.move(entry["mailbox"], row["id"], entry.get("folder") or "inbox")
        back = mail.find(entry["mailbox"])
        restored += bool(back)
        if not back:
            missing.append(f"{entry['internet_message_id']} in {entry['mailbox']}")
    if missing:
        raise VerificationFailed(
            f"{len(missing)} message(s) are not back (purged from Recoverable Items, or the move failed).",
            {"missing": missing[:20], "restored": restored},
        )
    return ConnectorResult(
        detail=f"{restored} message(s) moved back from Recoverable Items.",
        already_done=restored == 0,
        read_back={"restored": restored},
    )

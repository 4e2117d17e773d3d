"""The ``msgraph`` connector: remediation on the real tenant, through Microsoft Graph and Exchange Online.

Every method is idempotent without server-side idempotency keys, because each change is a
state to reach rather than a step to repeat: PATCH a property, revoke (again), delete by id, create
a rule with a fixed name. Something already gone (a 404, a rule no longer there) is success,
recorded with ``already_done``. Throttling (429) and server errors (5xx) raise ``TransientError``
with the service's Retry-After; a refusal (401/403) raises ``PermanentError`` naming the
application permission to grant.
"""

import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone

from investigations.connectors import exchange
from investigations.connectors.base import Connector, ConnectorResult, PermanentError, TransientError
from m365 import permissions, times
from m365.client import (
    AccessDenied,
    AuthenticationFailed,
    M365Client,
    M365Error,
    NotFound,
    Throttled,
    Unavailable,
)
from m365.config import ConfigError, config_get
from m365.models import M365Feed

PERMISSIONS = {kind: permissions.for_action(kind) for kind in (
    "revoke_sessions", "disable_account", "reset_password", "remove_inbox_rule", "soft_delete_messages",
    "disable_mailbox_forwarding", "remove_mailbox_permission", "restrict_sending",
)}  # fmt: skip
RULE_READ_ONLY = ("id", "hasError", "isReadOnly", "@odata.context", "@odata.etag")
RECOVERABLE_ITEMS = "recoverableitemsdeletions"
TRACE_LOOKBACK = timedelta(days=10)  # the longest interval one message trace query may span


@contextmanager
def _translated(kind: str) -> Iterator[None]:
    """Client errors as the connector interface's errors."""
    try:
        yield
    except (Throttled, Unavailable) as exc:
        raise TransientError(exc.message, retry_after=exc.retry_after) from None
    except AccessDenied as exc:  # the client's message names the permission the call needed
        raise PermanentError(f"{exc.message} `manage.py m365 check` lists every missing permission.") from None
    except (AuthenticationFailed, M365Error) as exc:
        raise PermanentError(exc.message) from None


def random_password(length: int = 24) -> str:
    """A password meeting Entra's complexity rules; it is sent once and never stored or logged."""
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(not c.isalnum() for c in password)
        ):
            return password


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class MsGraphConnector(Connector):
    name = "msgraph"

    def __init__(self, client: M365Client | None = None):
        self._client = client

    @property
    def client(self) -> M365Client:
        if self._client is None:
            try:
                config = config_get()
            except ConfigError as exc:
                raise PermanentError(str(exc)) from None
            if config is None:
                raise PermanentError("No Microsoft 365 tenant is configured for the msgraph connector.")
            self._client = M365Client(config)
        return self._client

    # --- helpers -------------------------------------------------------------------------------

    def _graph(self, method: str, path: str, *, kind: str, **kwargs):
        return self.client.graph(method, path, permission=PERMISSIONS[kind], **kwargs)

    @staticmethod
    def _user(action) -> str:
        """The Graph key of the action's user: the Entra object id when known, else the UPN."""
        return quote(action.identity.external_id or action.identity.upn, safe="@")

    def run(self, action) -> ConnectorResult:
        with _translated(action.kind):
            return super().run(action)

    def undo(self, action) -> ConnectorResult:
        """Reverse ``action.undo_of`` from the state its run recorded (``action`` is the undo action)."""
        handler = getattr(self, f"undo_{action.kind}", None)
        if handler is None:
            return super().undo(action)
        with _translated(action.kind):
            return handler(action, (action.undo_of.result or {}).get("undo_state") or {})

    # --- Entra ID account ------------------------------------------------------------------------

    def revoke_sessions(self, action) -> ConnectorResult:
        try:
            self._graph("POST", f"users/{self._user(action)}/revokeSignInSessions", kind=action.kind)
        except NotFound:
            return ConnectorResult(detail=f"{action.identity.upn} no longer exists in Entra ID.", already_done=True)
        return ConnectorResult(
            detail=f"Refresh tokens and session cookies of {action.identity.upn} revoked; apps must sign in again."
        )

    def disable_account(self, action) -> ConnectorResult:
        user = self._user(action)
        try:
            current = self._graph("GET", f"users/{user}", kind=action.kind, params={"$select": "accountEnabled"}).json()
        except NotFound:
            return ConnectorResult(detail=f"{action.identity.upn} no longer exists in Entra ID.", already_done=True)
        undo_state = {"accountEnabled": current.get("accountEnabled", True)}
        if current.get("accountEnabled") is False:
            return ConnectorResult(detail=f"{action.identity.upn} was already disabled.", already_done=True,
                                   undo_state=undo_state)  # fmt: skip
        self._graph("PATCH", f"users/{user}", kind=action.kind, json={"accountEnabled": False})
        return ConnectorResult(detail=f"Sign-in blocked for {action.identity.upn}.", undo_state=undo_state)

    def undo_disable_account(self, action, state: dict) -> ConnectorResult:
        enabled = state.get("accountEnabled", True)
        self._graph("PATCH", f"users/{self._user(action)}", kind=action.kind, json={"accountEnabled": enabled})
        return ConnectorResult(detail=f"Sign-in of {action.identity.upn} {'allowed' if enabled else 'left blocked'}.")

    def reset_password(self, action) -> ConnectorResult:
        profile = {"forceChangePasswordNextSignIn": True, "password": random_password()}
        try:
            self._graph("PATCH", f"users/{self._user(action)}", kind=action.kind, json={"passwordProfile": profile})
        except NotFound:
            return ConnectorResult(detail=f"{action.identity.upn} no longer exists in Entra ID.", already_done=True)
        return ConnectorResult(
            detail=f"Password of {action.identity.upn} replaced by a random one (not kept); "
            "the user must set a new one through self-service reset or the helpdesk."
        )

    # --- inbox rules -----------------------------------------------------------------------------

    def _rules_path(self, action) -> str:
        mailbox = action.parameters.get("mailbox")
        user = quote(mailbox, safe="@") if mailbox else self._user(action)
        return f"users/{user}/mailFolders/inbox/messageRules"

    def _rule_id(self, action) -> str | None:
        """The Graph id of the rule: given, or found by its name (what the audit log shows)."""
        if action.parameters.get("rule_id"):
            return action.parameters["rule_id"]
        name = action.parameters.get("rule") or action.target
        rules = self._graph("GET", self._rules_path(action), kind=action.kind).json().get("value", [])
        return next((rule["id"] for rule in rules if rule.get("displayName") == name), None)

    def remove_inbox_rule(self, action) -> ConnectorResult:
        try:
            rule_id = self._rule_id(action)
            if rule_id is None:
                raise NotFound("no rule of that name")
            snapshot = self._graph("GET", f"{self._rules_path(action)}/{quote(rule_id)}", kind=action.kind).json()
            self._graph("DELETE", f"{self._rules_path(action)}/{quote(rule_id)}", kind=action.kind)
        except NotFound:
            return ConnectorResult(detail=f"Inbox rule '{action.target}' is already gone.", already_done=True)
        rule = {key: value for key, value in snapshot.items() if key not in RULE_READ_ONLY}
        return ConnectorResult(
            detail=f"Inbox rule '{snapshot.get('displayName')}' of {action.identity.upn} deleted.",
            data={"rule_id": rule_id},
            undo_state={"rule": rule},
        )

    def undo_remove_inbox_rule(self, action, state: dict) -> ConnectorResult:
        rule = state.get("rule")
        if not rule:
            raise PermanentError("Nothing to restore: the rule was already gone when it was removed.")
        existing = self._graph("GET", self._rules_path(action), kind=action.kind).json().get("value", [])
        if any(r.get("displayName") == rule.get("displayName") for r in existing):
            return ConnectorResult(detail=f"Inbox rule '{rule.get('displayName')}' exists already.", already_done=True)
        created = self._graph("POST", self._rules_path(action), kind=action.kind, json=rule).json()
        return ConnectorResult(
            detail=f"Inbox rule '{rule.get('displayName')}' re-created from its snapshot.",
            data={"rule_id": created.get("id")},
        )

    # --- messages --------------------------------------------------------------------------------

    def _find_messages(self, action, mailbox: str, *, folder: str | None = None) -> list[dict]:
        """The action's messages in ``mailbox`` (by Internet message id, else by sender and subject)."""
        path = f"users/{quote(mailbox, safe='@')}/" + (f"mailFolders/{folder}/messages" if folder else "messages")
        params = action.parameters
        wanted = params.get("internet_message_ids") or []
        sender = (params.get("sender") or action.identity.upn).lower()
        if wanted:
            filters = [f"internetMessageId eq {_odata_string(message_id)}" for message_id in wanted]
        else:
            filters = [f"subject eq {_odata_string(params.get('subject', ''))}"]
        found = []
        for odata_filter in filters:
            query = {"$filter": odata_filter, "$select": "id,parentFolderId,internetMessageId,from"}
            try:
                rows = self._graph("GET", path, kind=action.kind, params=query).json().get("value", [])
            except NotFound:  # no such mailbox (an external recipient)
                return []
            found += [
                row
                for row in rows
                if wanted or (row.get("from") or {}).get("emailAddress", {}).get("address", "").lower() == sender
            ]
        return found

    def _recipients(self, action) -> list[str]:
        """Whose mailboxes hold the messages: given, else every recipient message trace shows (10 days)."""
        params = action.parameters
        if params.get("recipients"):
            return list(params["recipients"])
        sender = params.get("sender") or action.identity.upn
        now = timezone.now()
        odata_filter = (
            f"receivedDateTime ge {times.iso_z(now - TRACE_LOOKBACK)} and receivedDateTime le {times.iso_z(now)} "
            f"and senderAddress eq {_odata_string(sender)}"
        )
        wanted, subject = set(params.get("internet_message_ids") or []), params.get("subject", "")
        recipients = set()
        pages = self.client.graph_pages(
            "admin/exchange/tracing/messageTraces",
            params={"$filter": odata_filter},
            permission=permissions.for_feed(M365Feed.MESSAGE_TRACE),
        )
        for page in pages:
            for row in page:
                if (row.get("messageId") in wanted) if wanted else row.get("subject") == subject:
                    recipients.add(row["recipientAddress"].lower())
        return sorted(recipients)

    def _move(self, action, mailbox: str, message_id: str, destination: str) -> bool:
        path = f"users/{quote(mailbox, safe='@')}/messages/{quote(message_id)}/move"
        try:
            self._graph("POST", path, kind=action.kind, json={"destinationId": destination})
        except NotFound:
            return False
        return True

    def soft_delete_messages(self, action) -> ConnectorResult:
        """Move each message to Recoverable Items (Deletions) in every recipient's mailbox: gone from
        the user's view, still recoverable by an admin, and brought back by undo."""
        if not action.parameters.get("internet_message_ids") and not action.parameters.get("subject"):
            raise PermanentError("soft_delete_messages needs internet_message_ids or a subject in its parameters.")
        moved = []
        for mailbox in self._recipients(action):
            for message in self._find_messages(action, mailbox):
                if self._move(action, mailbox, message["id"], RECOVERABLE_ITEMS):
                    moved.append({"mailbox": mailbox, "internet_message_id": message.get("internetMessageId"),
                                  "folder": message.get("parentFolderId")})  # fmt: skip
        undo_state = {"moved": moved}
        if not moved:
            return ConnectorResult(detail="No copy of those messages was left in the mailboxes.", already_done=True,
                                   undo_state=undo_state)  # fmt: skip
        mailboxes = len({entry["mailbox"] for entry in moved})
        return ConnectorResult(
            detail=f"{len(moved)} message(s) moved to Recoverable Items in {mailboxes} mailbox(es).",
            data={"messages": len(moved), "mailboxes": mailboxes},
            undo_state=undo_state,
        )

    def undo_soft_delete_messages(self, action, state: dict) -> ConnectorResult:
        restored = 0
        for entry in state.get("moved", []):
            path = f"users/{quote(entry['mailbox'], safe='@')}/mailFolders/{RECOVERABLE_ITEMS}/messages"
            query = {"$filter": f"internetMessageId eq {_odata_string(entry['internet_message_id'])}", "$select": "id"}
            try:
                found = self._graph("GET", path, kind=action.kind, params=query).json().get("value", [])
            except NotFound:
                continue
            for message in found:
                restored += self._move(action, entry["mailbox"], message["id"], entry.get("folder") or "inbox")
        return ConnectorResult(detail=f"{restored} message(s) moved back from Recoverable Items.",
                               already_done=restored == 0)  # fmt: skip

    # --- Exchange Online -------------------------------------------------------------------------

    @property
    def exchange(self) -> exchange.ExchangeAdmin:
        return exchange.ExchangeAdmin(self.client)

    def disable_mailbox_forwarding(self, action) -> ConnectorResult:
        return exchange.forwarding_disable(self.exchange, action.parameters.get("mailbox") or action.identity.upn)

    def undo_disable_mailbox_forwarding(self, action, state: dict) -> ConnectorResult:
        mailbox = action.parameters.get("mailbox") or action.identity.upn
        return exchange.forwarding_restore(self.exchange, mailbox, state)

    def remove_mailbox_permission(self, action) -> ConnectorResult:
        params = action.parameters
        rights = params.get("access_rights") or None  # none given: every right the delegate holds
        if isinstance(rights, str):
            rights = [rights]
        mailbox = params.get("mailbox") or action.identity.upn
        return exchange.permission_remove(self.exchange, mailbox, params.get("delegate") or action.target, rights)

    def undo_remove_mailbox_permission(self, action, state: dict) -> ConnectorResult:
        return exchange.permission_restore(self.exchange, state)

    def restrict_sending(self, action) -> ConnectorResult:
        comment = f"Created by AIR Portal for investigation #{action.investigation_id}, action #{action.pk}."
        return exchange.sending_block(self.exchange, action.identity.upn, comment=comment)

    def undo_restrict_sending(self, action, state: dict) -> ConnectorResult:
        return exchange.sending_unblock(self.exchange, state)

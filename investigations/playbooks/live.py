"""The account as it is now: the snapshot a playbook run reads through the connector.

``snapshot_read`` asks the configured connector once per run (the checks share the result on
the context). A connector that cannot read (the base ``read_state`` raises
``NotImplementedError``), a tenant that cannot be reached, or a part the connector could not
see all end up in ``LiveState.unread`` with the reason: nothing that was not read is ever
judged as empty.

``event_values`` lets the checks judge a live item with the very functions that judge a log
record (``rule_reasons``, ``mailbox_forwarding``, the grant rules): the context turns the item
into an ``EventRow`` without an id, whose attributes are the item's details under the names the
adapters use (``PlaybookContext.live_records``).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from alerts.models import Event
from investigations.connectors import get_connector
from investigations.connectors.state import LiveState, StateItem, StateKind

logger = logging.getLogger(__name__)
K = Event.Kind
ACCOUNT = "account"
PARTS = (*StateKind.ALL, ACCOUNT)
# The log kind whose record a live item of this kind would be read as.
EVENT_KINDS = {
    StateKind.INBOX_RULE: K.INBOX_RULE_CREATED,
    StateKind.FORWARDING: K.MAILBOX_FORWARDING_SET,
    StateKind.MAILBOX_PERMISSION: K.MAILBOX_PERMISSION_ADDED,
    StateKind.SEND_AS: K.SEND_AS_PERMISSION_ADDED,
    StateKind.SEND_ON_BEHALF: K.SEND_AS_PERMISSION_ADDED,
    StateKind.OAUTH_GRANT: K.OAUTH_CONSENT,
    StateKind.AUTH_METHOD: K.MFA_METHOD_CHANGED,
}


def snapshot_read(upn: str, *, now: datetime) -> LiveState:
    """The connector's ``read_state(upn)``; when it cannot answer, a state whose every part is unread."""
    try:
        connector = get_connector()
    except Exception as exc:  # a misconfigured connector must not stop the log side of the run
        return not_read(upn, source="none", now=now, reason=f"no connector could be built ({exc})")
    try:
        return connector.read_state(upn)
    except NotImplementedError:
        return not_read(upn, source=connector.name, now=now, reason=f"the {connector.name} connector cannot read it")
    except Exception as exc:  # the tenant unreachable, throttling past the budget, a refusal…
        logger.warning("Reading the live state of %s through %s failed", upn, connector.name, exc_info=True)
        reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return not_read(upn, source=connector.name, now=now, reason=f"the read failed ({reason})")


def not_read(upn: str, *, source: str, now: datetime, reason: str) -> LiveState:
    return LiveState(upn=upn, source=source, read_at=now, unread=dict.fromkeys(PARTS, reason))


@dataclass(frozen=True)
class LiveView:
    """One snapshot as the checks ask it: the items of some kinds, or why they were not read."""

    state: LiveState

    def items(self, *kinds: str) -> list[StateItem]:
        return self.state.of_kind(*kinds)

    def unread(self, *kinds: str) -> str:
        """Why these kinds were not read, in a clause ("" when all were read)."""
        reasons = list(dict.fromkeys(self.state.unread[kind] for kind in kinds if kind in self.state.unread))
        return "; ".join(reasons)

    @property
    def nothing_read(self) -> bool:
        return all(part in self.state.unread for part in PARTS)

    def read(self, *kinds: str) -> bool:
        return not self.unread(*kinds)

    def not_read_sentence(self, what: str, *kinds: str) -> str:
        """The plain statement a check adds when it could judge only the logs."""
        return f"The current {what} could not be read ({self.unread(*kinds)}): only the logs were judged."


def event_values(item: StateItem, *, identity_id: int) -> tuple:
    """The ``EVENT_FIELDS`` of the log record that would have created the live item (no id, source ``live``)."""
    details = dict(item.details)
    if item.kind == StateKind.INBOX_RULE:
        attributes = {"rule": {"name": item.name, **details}}
    elif item.kind == StateKind.FORWARDING:
        address = details.get("ForwardingSmtpAddress") or details.get("ForwardingAddress") or item.name
        attributes = {
            "forward_to": [address],
            "deliver_to_mailbox_and_forward": details.get("DeliverToMailboxAndForward"),
        }
    elif item.kind in (StateKind.MAILBOX_PERMISSION, StateKind.SEND_AS, StateKind.SEND_ON_BEHALF):
        rights = details.get("AccessRights") or [
            {StateKind.SEND_AS: "SendAs", StateKind.SEND_ON_BEHALF: "SendOnBehalf"}.get(item.kind, "FullAccess")
        ]
        attributes = {"delegate": item.key.lower(), "access_rights": rights}
    elif item.kind == StateKind.OAUTH_GRANT:
        attributes = {"scopes": str(details.get("scope") or "").split(), "app_display_name": _app_name(item)}
    else:
        attributes = details
    kind = EVENT_KINDS.get(item.kind, item.kind)
    # id, identity_id, occurred_at, kind, operation, source, ip, country, city, latitude, longitude,
    # app, user_agent, succeeded, subject, target, attributes
    return (
        None,
        identity_id,
        item.created_at,
        kind,
        "",
        "live",
        None,
        "",
        "",
        None,
        None,
        "",
        "",
        True,
        "",
        item.name,
        attributes,
    )


def _app_name(item: StateItem) -> str:
    details = item.details
    return str(details.get("clientDisplayName") or details.get("clientId") or item.name)

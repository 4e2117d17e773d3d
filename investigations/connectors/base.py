"""The connector interface: how an approved action reaches the tenant.

A connector has one method per action kind plus ``undo``. Each method must be idempotent
for the action's ``idempotency_key`` (a retry after a crash must not act twice) and answers
with a ``ConnectorResult`` or raises ``TransientError`` (retry with backoff, honouring
``retry_after``) or ``PermanentError`` (the action fails with that message shown).

Truth before all: after changing the tenant a method reads the changed state back and puts what
it saw in ``ConnectorResult.read_back``; when the read-back does not show the change it raises
``VerificationFailed`` and the action fails. "Already gone" is an answer only when a read that
sees everything (hidden inbox rules included) confirms it.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from investigations.connectors.state import LiveState
    from investigations.models import Action


@dataclass
class ConnectorResult:
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    already_done: bool = False
    # What ``undo`` needs to restore the previous state (a rule snapshot, the old forwarding address…).
    undo_state: dict[str, Any] = field(default_factory=dict)
    # What reading the changed state back showed (stored as ``result["data"]["read_back"]``).
    read_back: dict[str, Any] = field(default_factory=dict)


class ConnectorError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientError(ConnectorError):
    """Throttling (429) or a server error (5xx): try again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """A refusal that a retry will not change (403 missing permission, 400 bad request)."""


class VerificationFailed(PermanentError):
    """The change was sent, but reading the state back does not show it: the action did not work.

    ``seen`` is what the read-back found, JSON-safe, for the analyst who takes over.
    """

    def __init__(self, message: str, seen: dict[str, Any] | None = None):
        super().__init__(message)
        self.seen = seen or {}


class Connector:
    name = "base"

    def read_state(self, upn: str) -> "LiveState":
        """What exists now for ``upn`` (see ``investigations.connectors.state``).

        Reads everything it can see, hidden inbox rules included; a part it cannot read is named
        in ``LiveState.unread`` with the reason, never reported as empty.
        """
        raise NotImplementedError

    @staticmethod
    def keep_undo_state(action: "Action", undo_state: dict[str, Any]) -> dict[str, Any]:
        """The undo snapshot of this action: an earlier attempt's if it took one, else ``undo_state``,
        stored on the action *before* the tenant changes, so a retry after a lost reply (which finds
        the change already made) still knows what to restore."""
        from investigations.services.remediation import action_undo_state_keep

        return action_undo_state_keep(action=action, undo_state=undo_state)

    def run(self, action: "Action") -> ConnectorResult:
        """Carry out ``action``: its kind's method, or ``undo`` when it is an undo action."""
        if action.undo_of_id is not None:
            return self.undo(action)
        return getattr(self, action.kind)(action)

    def undo(self, action: "Action") -> ConnectorResult:
        """Reverse ``action.undo_of`` (a succeeded action) using ``action.undo_of.result['undo_state']``.

        ``action`` is the undo action: its own ``idempotency_key`` makes the undo exactly-once.
        """
        raise PermanentError(f"{action.get_kind_display()} cannot be undone.")

    def revoke_sessions(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def reset_password(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def disable_account(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def remove_inbox_rule(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def disable_mailbox_forwarding(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def remove_mailbox_permission(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def restrict_sending(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def soft_delete_messages(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def revoke_app_consent(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def remove_mfa_method(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

    def remove_mobile_device(self, action: "Action") -> ConnectorResult:
        raise NotImplementedError

"""The read side of a connector: one user's account and mailbox as they are now.

An attacker's persistence (forwarding, a hidden inbox rule, a delegate, an app consent, an MFA
method, a phone partnership) may predate the log window, or its audit record may arrive late or
never. ``Connector.read_state(upn)`` answers what exists *now*; the playbook judges it together
with the logs, and actions read the same state back to verify that they changed the tenant.

Everything here is plain data, JSON-safe through ``as_json``/``from_json`` so a snapshot can be
stored on the investigation and shown years later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


class StateKind:
    """What one live item is. Names are stable: they are stored in snapshots."""

    INBOX_RULE = "inbox_rule"
    FORWARDING = "forwarding"
    MAILBOX_PERMISSION = "mailbox_permission"  # FullAccess on the user's mailbox
    FOLDER_PERMISSION = "folder_permission"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"
    OAUTH_GRANT = "oauth_grant"  # a delegated permission grant (consent)
    APP_ROLE_ASSIGNMENT = "app_role_assignment"
    AUTH_METHOD = "auth_method"
    MOBILE_DEVICE = "mobile_device"  # an Exchange ActiveSync partnership
    REGISTERED_DEVICE = "registered_device"  # an Entra registered device

    ALL = (
        INBOX_RULE,
        FORWARDING,
        MAILBOX_PERMISSION,
        FOLDER_PERMISSION,
        SEND_AS,
        SEND_ON_BEHALF,
        OAUTH_GRANT,
        APP_ROLE_ASSIGNMENT,
        AUTH_METHOD,
        MOBILE_DEVICE,
        REGISTERED_DEVICE,
    )


@dataclass(frozen=True)
class StateItem:
    """One thing that exists in the tenant now.

    ``key`` is the item's identity in the tenant (rule identity, grant id, method id, device id,
    or the delegate's address for a permission): what an action removes and a read-back looks
    for. ``name`` is what an analyst reads. ``details`` holds the item's settings as read (rule
    conditions and actions, forwarding addresses, scopes, access rights), JSON-safe.
    """

    kind: str
    key: str
    name: str
    created_at: datetime | None = None
    hidden: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountState:
    enabled: bool | None = None
    last_password_change: datetime | None = None
    sessions_revoked_at: datetime | None = None


@dataclass
class LiveState:
    """What one read of one user found, when, from which connector.

    ``unread`` maps a part that could not be read (a ``StateKind`` or ``"account"``) to why (a
    missing permission, an error): a part that was not read is never reported as empty.
    """

    upn: str
    source: str
    read_at: datetime
    items: list[StateItem] = field(default_factory=list)
    account: AccountState = field(default_factory=AccountState)
    unread: dict[str, str] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[StateItem]:
        return [item for item in self.items if item.kind in kinds]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return _dates_to_text(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LiveState:
        return cls(
            upn=data["upn"],
            source=data["source"],
            read_at=_date(data["read_at"]),
            items=[
                StateItem(**{**item, "created_at": _date(item.get("created_at"))}) for item in data.get("items", [])
            ],
            account=AccountState(**{key: _date_or_value(key, value) for key, value in data.get("account", {}).items()}),
            unread=dict(data.get("unread", {})),
        )


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _date_or_value(key: str, value: Any) -> Any:
    return _date(value) if key != "enabled" else value


def _dates_to_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _dates_to_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_to_text(item) for item in value]
    return value

"""The "Current state" tab: what exists on the account now, where each item came from, its action.

Built from three stored things, in three queries whatever the size: the snapshot the last run
read (``Investigation.live_state``), the items the checks judged (the ``live_state`` finding's
``data["items"]``: logs and live read together, with their verdicts) and the investigation's
actions (matched on kind and target, as proposals are).
"""

from dataclasses import dataclass, field
from datetime import datetime

from investigations.connectors.state import AccountState, LiveState, StateKind
from investigations.models import Action, Investigation
from investigations.playbooks.live import ACCOUNT, LiveView

KIND_LABELS = {
    StateKind.INBOX_RULE: "Inbox rule",
    StateKind.FORWARDING: "Mailbox forwarding",
    StateKind.MAILBOX_PERMISSION: "Mailbox permission",
    StateKind.FOLDER_PERMISSION: "Folder permission",
    StateKind.SEND_AS: "Send as",
    StateKind.SEND_ON_BEHALF: "Send on behalf",
    StateKind.OAUTH_GRANT: "App consent",
    StateKind.APP_ROLE_ASSIGNMENT: "App role assignment",
    StateKind.AUTH_METHOD: "Authentication method",
    StateKind.MOBILE_DEVICE: "Mobile device",
    StateKind.REGISTERED_DEVICE: "Registered device",
    ACCOUNT: "Account state",
}
ORIGIN_LABELS = {
    "log": "Logs only",
    "live": "Live read only",
    "both": "Logs and live read",
    "earlier": "An earlier live read",
}
VERDICT_ORDER = {"malicious": 0, "suspicious": 1, "clean": 2, "": 3}


@dataclass(frozen=True)
class StateRow:
    kind: str
    name: str
    origin: str  # "log", "live", "both" or "earlier" (a previous run's read)
    created_at: datetime | None
    hidden: bool = False
    verdict: str = ""  # "" when no check judges this kind of item
    action: Action | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def origin_label(self) -> str:
        return ORIGIN_LABELS[self.origin]


@dataclass(frozen=True)
class CurrentState:
    read: bool  # False: the last run read nothing live (or no run yet)
    source: str = ""
    read_at: datetime | None = None
    not_read_reason: str = ""
    account: AccountState | None = None
    unread: list[tuple[str, str]] = field(default_factory=list)  # (part, why) of a partial read
    rows: list[StateRow] = field(default_factory=list)


def investigation_current_state(*, investigation: Investigation) -> CurrentState:
    if not investigation.live_state:
        return CurrentState(read=False, not_read_reason="the playbook has not read it yet")
    state = LiveState.from_json(investigation.live_state)
    if LiveView(state).nothing_read:
        return CurrentState(
            read=False, source=state.source, read_at=state.read_at, not_read_reason=state.unread[ACCOUNT]
        )
    judged = (investigation.findings.filter(check_key="live_state").values_list("data", flat=True).first() or {}).get(
        "items", []
    )
    actions = {(action.kind, action.target): action for action in investigation.actions.filter(undo_of__isnull=True)}
    live = {(item.kind, item.key): item for item in state.items}
    rows, seen = [], set()
    for noted in judged:
        item = live.get((noted["kind"], noted["key"]))
        seen.add((noted["kind"], noted["key"]))
        created = datetime.fromisoformat(noted["created_at"]) if noted.get("created_at") else None
        rows.append(
            StateRow(
                kind=noted["kind"],
                name=noted["name"],
                origin=noted["origin"],
                created_at=created or (item.created_at if item else None),
                hidden=bool(item and item.hidden),
                verdict=noted["verdict"],
                action=actions.get(tuple(noted["action"])) if noted.get("action") else None,
            )
        )
    rows += [
        StateRow(kind=item.kind, name=item.name, origin="live", created_at=item.created_at, hidden=item.hidden)
        for key, item in live.items()
        if key not in seen
    ]
    rows.sort(key=lambda row: (VERDICT_ORDER.get(row.verdict, 3), row.kind, row.name))
    return CurrentState(
        read=True,
        source=state.source,
        read_at=state.read_at,
        account=state.account if ACCOUNT not in state.unread else None,
        unread=[(KIND_LABELS.get(part, part), why.rstrip(".")) for part, why in sorted(state.unread.items())],
        rows=rows,
    )

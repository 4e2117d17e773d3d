"""The application permissions AIR Portal needs, what each is for, and what else satisfies it.

One table for the connection test, the error messages of the connector and docs/m365.md.
"""

from dataclasses import dataclass

from m365.models import M365Feed

API_NAMES = {
    "graph": "Microsoft Graph",
    "manage": "Office 365 Management APIs",
    "exchange": "Office 365 Exchange Online",
}


@dataclass(frozen=True)
class Requirement:
    api: str  # a key of API_NAMES
    permission: str  # the least privileged application permission to grant
    purpose: str
    feed: str | None = None  # needed only while this feed is on
    actions: tuple[str, ...] = ()  # remediation action kinds that need it
    also_accepted: frozenset[str] = frozenset()  # broader permissions that include it
    role: str = ""  # the Entra directory role the app's service principal needs as well (a token cannot show it)

    @property
    def accepted(self) -> frozenset[str]:
        return self.also_accepted | {self.permission}

    @property
    def api_name(self) -> str:
        return API_NAMES[self.api]

    def describe(self) -> str:
        role = f", plus the directory role {self.role}" if self.role else ""
        return f"{self.permission} ({API_NAMES[self.api]}){role}"


USER_WRITE = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})

REQUIREMENTS = (
    Requirement("manage", "ActivityFeed.Read", "read the unified audit log", feed=M365Feed.AUDIT),
    Requirement("graph", "AuditLog.Read.All", "read Entra ID sign-ins", feed=M365Feed.SIGNINS),
    Requirement(
        "graph",
        "SecurityAlert.Read.All",
        "read Defender and Entra ID Protection alerts",
        feed=M365Feed.ALERTS,
        also_accepted=frozenset({"SecurityAlert.ReadWrite.All"}),
    ),
    Requirement(
        "graph",
        "ExchangeMessageTrace.Read.All",
        "read message trace (and find who received a message to soft-delete)",
        feed=M365Feed.MESSAGE_TRACE,
        actions=("soft_delete_messages",),
    ),
    Requirement(
        "graph",
        "IdentityRiskEvent.Read.All",
        "read Entra ID Protection risk detections (offline ones come hours after the sign-in)",
        feed=M365Feed.RISK_DETECTIONS,
    ),
    Requirement(
        "graph",
        "User.Read.All",
        "read an account's state: before disabling it (for undo), and back after each account action",
        actions=("disable_account", "revoke_sessions", "reset_password"),
        also_accepted=USER_WRITE | {"Directory.Read.All"},
    ),
    Requirement(
        "graph",
        "User.RevokeSessions.All",
        "revoke sign-in sessions",
        actions=("revoke_sessions",),
        also_accepted=USER_WRITE,
    ),
    Requirement(
        "graph",
        "User.EnableDisableAccount.All",
        "disable and re-enable accounts",
        actions=("disable_account",),
        also_accepted=USER_WRITE,
        role="Privileged Authentication Administrator (only to disable accounts that hold an admin role)",
    ),
    Requirement(
        "graph",
        "User-PasswordProfile.ReadWrite.All",
        "reset passwords",
        actions=("reset_password",),
        also_accepted=USER_WRITE,
        role="User Administrator (Privileged Authentication Administrator to reset an admin's password)",
    ),
    Requirement(
        "graph", "Mail.ReadWrite", "move phishing messages to Recoverable Items", actions=("soft_delete_messages",)
    ),
    Requirement(
        "graph",
        "DelegatedPermissionGrant.ReadWrite.All",
        "revoke (and restore) the delegated permissions a user consented to",
        actions=("revoke_app_consent",),
        also_accepted=frozenset({"Directory.ReadWrite.All"}),
    ),
    Requirement(
        "graph",
        "AppRoleAssignment.ReadWrite.All",
        "remove (and restore) a user's app role assignments to a consented app",
        actions=("revoke_app_consent",),
        also_accepted=frozenset({"Directory.ReadWrite.All"}),
    ),
    Requirement(
        "graph",
        "UserAuthenticationMethod.ReadWrite.All",
        "read and remove the MFA methods an intruder registered",
        actions=("remove_mfa_method",),
    ),
    Requirement(
        "graph",
        "Device.Read.All",
        "read the user's registered devices (the account's live state)",
        also_accepted=frozenset({"Directory.Read.All", "Directory.ReadWrite.All"}),
    ),
    Requirement(
        "exchange",
        "Exchange.ManageAsApp",
        "read and remove inbox rules (hidden ones too), forwarding, mailbox and folder permissions and "
        "mobile devices, block sending",
        actions=(
            "remove_inbox_rule",
            "disable_mailbox_forwarding",
            "remove_mailbox_permission",
            "restrict_sending",
            "remove_mobile_device",
        ),
        role="Exchange Administrator",
    ),
)


def for_feed(feed: str) -> str:
    """What to grant for a feed, in words (also what its requests name when they are refused)."""
    return " and ".join(req.describe() for req in REQUIREMENTS if req.feed == feed)


def for_permission(permission: str) -> str:
    """One permission of the table, in words (for a read that no action or feed owns)."""
    return next(req.describe() for req in REQUIREMENTS if req.permission == permission)


def for_action(kind: str) -> str:
    """What to grant for a remediation action kind, in words."""
    return " and ".join(req.describe() for req in REQUIREMENTS if kind in req.actions)

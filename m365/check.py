"""Test connection: sign in to each API, compare the granted permissions with what AIR Portal
needs, and make one harmless read per API to catch what a token does not show (a missing
directory role, a wrong tenant id, an unlicensed feature).

The granted permissions are read from the access token's ``roles`` claim: Entra puts every
admin-consented application permission there, so the test names exactly what is missing. Cached
tokens are dropped first: a token issued before a grant would still show the old permissions.
The directory roles a token cannot show are named next to the permissions that need them.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from m365 import times
from m365.client import AuthenticationFailed, M365Client, M365Error, forget_tokens, scope_for
from m365.config import ConfigError, config_get
from m365.endpoints import MESSAGE_TRACE_PATH, RISK_DETECTIONS_PATH, graph_base, management_base
from m365.expiry import credential_expiry
from m365.models import M365Feed
from m365.permissions import API_NAMES, REQUIREMENTS, for_feed


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool
    detail: str
    required: bool = True  # False: only needed by a feed that is switched off, or advice
    warning: bool = False  # not a failure, but act soon (a credential about to expire)
    link: str = ""  # where to act (the admin-consent page)


def _bases() -> dict[str, str]:
    return {
        "graph": graph_base(),
        "manage": management_base(),
        "exchange": settings.M365_EXCHANGE_URL,
    }


def m365_check() -> list[CheckItem]:
    """Every check, in order; ``all(item.ok for item in items if item.required)`` means ready."""
    try:
        config = config_get()
    except ConfigError as exc:
        return [CheckItem("Configuration", False, str(exc))]
    if config is None:
        return [CheckItem("Configuration", False, "No tenant id, client id and secret or certificate are configured.")]
    items = [
        CheckItem(
            "Configuration", True, f"Tenant {config.tenant_id}, app {config.client_id}, {config.credential_kind}."
        ),
        CheckItem(
            "Admin consent",
            True,
            f"An admin grants (or re-grants) the app's permissions at {admin_consent_url(config)}",
            required=False,
            link=admin_consent_url(config),
        ),
    ]
    forget_tokens()
    client = M365Client(config)
    granted: dict[str, set[str]] = {}
    for api, base in _bases().items():
        try:
            granted[api] = client.granted_roles(scope_for(base))
        except AuthenticationFailed as exc:  # wrong secret, app or tenant: nothing else can work
            return [*items, CheckItem(f"Sign-in to {API_NAMES[api]}", False, exc.message)]
        except M365Error as exc:
            items.append(CheckItem(f"Sign-in to {API_NAMES[api]}", False, exc.message))
            continue
        items.append(
            CheckItem(f"Sign-in to {API_NAMES[api]}", True, f"Token issued with {len(granted[api])} permission(s).")
        )
    for req in REQUIREMENTS:
        if req.api not in granted:
            continue
        needed = req.feed is None or req.feed in config.feeds
        held = granted[req.api] & req.accepted
        ok = bool(held)
        detail = "Granted." if req.permission in held else f"Granted as {', '.join(sorted(held))}."
        if not ok:
            detail = f"Missing: grant {req.describe()} and admin consent, to {req.purpose}."
        elif req.role:
            detail += f" The app also needs the directory role {req.role}, to {req.purpose} (a token cannot show it)."
        if not ok and not needed:
            detail += " (Only needed when that feed is on.)"
        items.append(CheckItem(f"{API_NAMES[req.api]}: {req.permission}", ok, detail, required=needed))
    items += _probes(client, config, granted)
    if "graph" in granted:
        items.append(_expiry_item(client))
    return items


def admin_consent_url(config) -> str:
    """Where a Global or Privileged Role Administrator consents to every permission the app asks for."""
    return f"{settings.M365_LOGIN_URL}/{config.tenant_id}/adminconsent?client_id={config.client_id}"


def _expiry_item(client: M365Client) -> CheckItem:
    label = "Credential expiry"
    try:
        expiry = credential_expiry(client)
    except M365Error as exc:
        return CheckItem(label, True, f"Unknown: {exc.message}", required=False)
    if expiry.ends is None:
        return CheckItem(
            label, True, f"The {expiry.what} end date is unknown: {expiry.unknown_because}.", required=False
        )
    warning = expiry.warning()
    if warning:
        return CheckItem(label, False, warning, required=False, warning=True)
    return CheckItem(label, True, f"The {expiry.what} is valid until {expiry.ends:%Y-%m-%d}.", required=False)


def _probes(client: M365Client, config, granted: dict[str, set[str]]) -> list[CheckItem]:
    probes = []
    if M365Feed.SIGNINS in config.feeds and "AuditLog.Read.All" in granted.get("graph", set()):
        probes.append(("Read sign-ins", lambda: _graph_read(client, "auditLogs/signIns", "AuditLog.Read.All")))
    if M365Feed.ALERTS in config.feeds and granted.get("graph", set()) & {"SecurityAlert.Read.All"}:
        probes.append(("Read alerts", lambda: _graph_read(client, "security/alerts_v2", "SecurityAlert.Read.All")))
    if M365Feed.MESSAGE_TRACE in config.feeds and "ExchangeMessageTrace.Read.All" in granted.get("graph", set()):
        probes.append(("Read message trace", lambda: _message_trace_read(client)))
    if M365Feed.RISK_DETECTIONS in config.feeds and "IdentityRiskEvent.Read.All" in granted.get("graph", set()):
        read = lambda: _graph_read(client, RISK_DETECTIONS_PATH, "IdentityRiskEvent.Read.All")  # noqa: E731
        probes.append(("Read risk detections", read))
    if M365Feed.AUDIT in config.feeds and "ActivityFeed.Read" in granted.get("manage", set()):
        probes.append(("Read the audit log subscriptions", lambda: _management_read(client)))
    if "Exchange.ManageAsApp" in granted.get("exchange", set()):
        probes.append(("Run an Exchange Online cmdlet", lambda: _exchange_read(client)))
    items = []
    for label, probe in probes:
        try:
            detail = probe()
        except M365Error as exc:
            items.append(CheckItem(label, False, exc.message))
        else:
            items.append(CheckItem(label, True, detail))
    return items


def _graph_read(client: M365Client, path: str, permission: str) -> str:
    client.graph("GET", path, permission=permission, params={"$top": "1"})
    return "Answered."


def _message_trace_read(client: M365Client) -> str:
    now = timezone.now()
    window = f"receivedDateTime ge {times.iso_z(now - timedelta(hours=1))} and receivedDateTime le {times.iso_z(now)}"
    permission = "ExchangeMessageTrace.Read.All"
    client.graph("GET", MESSAGE_TRACE_PATH, permission=permission, params={"$filter": window, "$top": "1"})
    return "Answered."


def _management_read(client: M365Client) -> str:
    url = client.management_url("subscriptions/list")
    permission = for_feed(M365Feed.AUDIT)
    current = client.get_json(url, base_url=management_base(), permission=permission)
    enabled = sorted(item.get("contentType") for item in current if item.get("status") == "enabled")
    return f"Enabled subscriptions: {', '.join(enabled) or 'none yet (the first pull starts them)'}."


def _exchange_read(client: M365Client) -> str:
    client.invoke_cmdlet("Get-Mailbox", anchor=None, permission="Exchange.ManageAsApp", ResultSize=1)
    return f"Answered for organisation {client.organization()} (the Exchange Administrator role is assigned)."

"""When the app registration's credential stops working, for the connection test to warn ahead.

A certificate's end is in the PEM itself (``notAfter``). A client secret's end is only known to
Entra: the test reads the app's ``passwordCredentials`` from Graph, which needs
``Application.Read.All`` (optional); the secret in use is the one whose ``hint`` (its first three
characters, all Entra keeps) matches. Without the permission the end date is reported as unknown.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from m365.client import AccessDenied, M365Client
from m365.times import parse

WARN_BEFORE = timedelta(days=30)
READ_APPLICATIONS = "Application.Read.All"


@dataclass(frozen=True)
class Expiry:
    ends: datetime | None  # None: unknown
    what: str  # "certificate 1a2b…" or "client secret abc…"
    unknown_because: str = ""

    def warning(self, *, now: datetime | None = None) -> str:
        """A sentence when the credential ends within ``WARN_BEFORE`` (or already has), else ''."""
        if self.ends is None:
            return ""
        left = self.ends - (now or timezone.now())
        if left > WARN_BEFORE:
            return ""
        if left <= timedelta(0):
            return f"The {self.what} expired on {self.ends:%Y-%m-%d}: add a new one to the app registration."
        return (
            f"The {self.what} expires on {self.ends:%Y-%m-%d %H:%M} UTC (in {left.days} day(s)): add a new one to "
            "the app registration and enter it here before then."
        )


def credential_expiry(client: M365Client) -> Expiry:
    config = client.config
    if config.certificate:
        return Expiry(config.certificate.not_after, f"certificate {config.certificate.thumbprint_sha1[:8]}…")
    what = f"client secret {config.client_secret[:3]}…"
    try:
        app = client.graph(
            "GET",
            f"applications(appId='{config.client_id}')",
            permission=READ_APPLICATIONS,
            params={"$select": "passwordCredentials"},
        ).json()
    except AccessDenied:
        return Expiry(None, what, f"grant {READ_APPLICATIONS} (optional) to let the test read it")
    ends = [
        parse(credential["endDateTime"])
        for credential in app.get("passwordCredentials") or []
        if credential.get("hint") == config.client_secret[:3] and credential.get("endDateTime")
    ]
    if not ends:
        return Expiry(None, what, "the app registration lists no secret starting with those characters")
    return Expiry(min(ends), what)

"""The fake tenant's state and the request dispatcher shared by the four services."""

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.m365.fake import exchange, graph, login, management
from tests.m365.fake.server import FakeServers, Fault, Request, Response, Throttle, error, read_token

ALL_ROLES = {
    "graph": {
        "AuditLog.Read.All",
        "SecurityAlert.Read.All",
        "ExchangeMessageTrace.Read.All",
        "User.Read.All",
        "Domain.Read.All",
        "User.RevokeSessions.All",
        "User.EnableDisableAccount.All",
        "User-PasswordProfile.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "Mail.ReadWrite",
    },
    "manage": {"ActivityFeed.Read"},
    "exchange": {"Exchange.ManageAsApp"},
}


FAMILIES = {"graph": graph.family_of, "manage": management.family_of}
THROTTLED = {"graph": graph.throttled, "manage": management.throttled}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Blob:
    content_type: str
    content_id: str
    created: datetime
    records: list[dict]
    expired: bool = False


@dataclass
class FakeMicrosoft:
    tenant_id: str = "6f3c2a1e-9b8d-4e7f-a1b2-c3d4e5f60718"
    client_id: str = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
    client_secret: str = "s3cr3t~VALUE-never-shown"
    certificate_pem: str = ""  # the app's public certificate, when it signs in with one
    roles: dict[str, set[str]] = field(default_factory=lambda: {k: set(v) for k, v in ALL_ROLES.items()})
    exchange_role_assigned: bool = True  # the Exchange Administrator role of the app's service principal
    initial_domain: str = "contoso.onmicrosoft.com"
    message_trace_principal: bool = True  # the tenant provisioned the service principal of the message trace app
    secret_expires: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(days=365))
    page_size: int = 2
    # Management Activity API
    subscriptions: set[str] = field(default_factory=set)
    blobs: list[Blob] = field(default_factory=list)
    # Graph collections
    signins: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    message_traces: list[dict] = field(default_factory=list)
    # Directory and mailboxes
    users: dict[str, dict] = field(default_factory=dict)  # by object id
    rules: dict[str, dict[str, dict]] = field(default_factory=dict)  # upn -> rule id -> rule
    messages: dict[str, dict[str, dict]] = field(default_factory=dict)  # upn -> message id -> message
    mailboxes: dict[str, dict] = field(default_factory=dict)  # upn -> Get-Mailbox properties
    mailbox_permissions: list[dict] = field(default_factory=list)
    recipient_permissions: list[dict] = field(default_factory=list)
    transport_rules: dict[str, dict] = field(default_factory=dict)
    domains: list[dict] = field(default_factory=list)  # Graph domain resources
    # Observations
    requests: list[tuple[str, str, str, dict]] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)  # of each request in ``requests``
    token_requests: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    throttles: dict[str, Throttle] = field(default_factory=dict)  # by route family (``family_of``)
    lock: threading.RLock = field(default_factory=threading.RLock)
    servers: FakeServers | None = None

    # --- set-up helpers --------------------------------------------------------------------

    def url(self, service: str) -> str:
        return self.servers.url(service)

    def fail(self, service, method, path_contains, status, *, body=None, headers=None, times=1, after=0, query=None):
        """After ``after`` matching requests (with ``query`` among their parameters, when given), the
        next ``times`` get this answer instead."""
        response = Response(status, body, headers or {})
        self.faults.append(Fault(service, method, path_contains, response, times, after, query or {}))

    def throttle(self, family: str, *, every: int, retry_after: float | None = 1) -> Throttle:
        """Throttle one route family (``audit``, ``signins``, ``alerts``, ``message_traces``) as the
        service does: every ``every``-th call answers 429 with ``Retry-After`` (AF429 for the audit log)."""
        self.throttles[family] = Throttle(every, retry_after)
        return self.throttles[family]

    def add_user(self, upn: str, **properties) -> dict:
        user = {"id": str(uuid.uuid4()), "userPrincipalName": upn, "accountEnabled": True, **properties}
        self.users[user["id"]] = user
        self.mailboxes.setdefault(
            upn.lower(),
            {
                "Identity": upn,
                "UserPrincipalName": upn,
                "PrimarySmtpAddress": upn,
                "ForwardingSmtpAddress": None,
                "ForwardingAddress": None,
                "DeliverToMailboxAndForward": False,
            },
        )
        return user

    def user(self, key: str) -> dict | None:
        key = key.lower()
        return next((u for u in self.users.values() if key in (u["id"], u["userPrincipalName"].lower())), None)

    def add_rule(self, upn: str, **rule) -> dict:
        rule = {"id": "AQAAA" + uuid.uuid4().hex, "sequence": 1, "isEnabled": True, "hasError": False,
                "isReadOnly": False, **rule}  # fmt: skip
        self.rules.setdefault(upn.lower(), {})[rule["id"]] = rule
        return rule

    def add_message(self, upn, *, internet_message_id, subject, sender="x@fabrikam.example", folder="inbox") -> dict:
        message = {"id": "AAMk" + uuid.uuid4().hex, "internetMessageId": internet_message_id, "subject": subject,
                   "parentFolderId": folder, "from": {"emailAddress": {"address": sender}}}  # fmt: skip
        self.messages.setdefault(upn.lower(), {})[message["id"]] = message
        return message

    def add_blob(self, content_type: str, created: datetime, records: list[dict], *, expired=False) -> Blob:
        blob = Blob(content_type, f"{uuid.uuid4().hex}${content_type.replace('.', '_')}", created, records, expired)
        self.blobs.append(blob)
        return blob

    def calls(self, service: str, method: str | None = None, contains: str = "") -> list:
        return [r for r in self.requests if r[0] == service and method in (None, r[1]) and contains in r[2]]

    # --- dispatch --------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.service, request.method, request.path, dict(request.query)))
            self.request_headers.append(request.headers)
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and fault.service == request.service
                    and fault.method == request.method
                    and fault.path_contains in request.path
                    and fault.query.items() <= request.query.items()
                ):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.remaining -= 1
                    return fault.response
            if request.service == "login":
                return login.handle(self, request)
            claims = self.authenticate(request)
            if claims is None:
                if request.service == "manage":
                    return error(401, "AF10001", "Authorization header missing or token invalid.")
                return error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
            throttled = self._throttled(request)
            if throttled is not None:
                return throttled
            handler = {"graph": graph.handle, "manage": management.handle, "exchange": exchange.handle}
            return handler[request.service](self, request, set(claims.get("roles", [])))

    def _throttled(self, request: Request) -> Response | None:
        family = FAMILIES[request.service](request) if request.service in FAMILIES else None
        throttle = self.throttles.get(family)
        if throttle is None or not throttle.refuses():
            return None
        return THROTTLED[request.service](self, request, throttle.retry_after)

    def authenticate(self, request: Request) -> dict | None:
        header = request.headers.get("authorization", "")
        claims = read_token(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if not claims or claims.get("aud") != self.url(request.service):
            return None
        if claims.get("exp", 0) < datetime.now(UTC).timestamp():
            return None
        return claims

    def clock(self) -> datetime:
        return datetime.now(UTC)

    def days_ago(self, days: float) -> datetime:
        return self.clock() - timedelta(days=days)

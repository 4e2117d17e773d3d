"""The fake tenant's state and the request dispatcher shared by the four services."""

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.m365.fake import exchange, graph, graph_identity, login, management
from tests.m365.fake.server import FakeServers, Fault, Request, Response, Throttle, error, read_token

ALL_ROLES = {
    "graph": {
        "AuditLog.Read.All",
        "SecurityAlert.Read.All",
        "ExchangeMessageTrace.Read.All",
        "IdentityRiskEvent.Read.All",
        "User.Read.All",
        "Domain.Read.All",
        "User.RevokeSessions.All",
        "User.EnableDisableAccount.All",
        "User-PasswordProfile.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "Mail.ReadWrite",
        "DelegatedPermissionGrant.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "Device.Read.All",
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
    risk_detections: list[dict] = field(default_factory=list)  # riskDetection resources
    # Directory and mailboxes
    users: dict[str, dict] = field(default_factory=dict)  # by object id
    # Inbox rules as Exchange keeps them (Get-InboxRule properties, plus ``hidden``): upn -> RuleIdentity -> rule.
    # Graph's messageRules shows the same rules, hidden ones excepted.
    rules: dict[str, dict[str, dict]] = field(default_factory=dict)
    messages: dict[str, dict[str, dict]] = field(default_factory=dict)  # upn -> message id -> message
    message_page_size: int = 10  # Graph's default page of /messages; $top asks for more
    message_top_limit: int = 1000  # the most one page holds, whatever $top asks
    mailboxes: dict[str, dict] = field(default_factory=dict)  # upn -> Get-Mailbox properties
    mailbox_permissions: list[dict] = field(default_factory=list)
    recipient_permissions: list[dict] = field(default_factory=list)
    folder_permissions: list[dict] = field(default_factory=list)  # Get-MailboxFolderPermission rows
    mobile_devices: list[dict] = field(default_factory=list)  # Get-MobileDevice rows (with ``mailbox``)
    transport_rules: dict[str, dict] = field(default_factory=dict)
    domains: list[dict] = field(default_factory=list)  # Graph domain resources
    service_principals: list[dict] = field(default_factory=list)  # servicePrincipal resources
    oauth2_grants: list[dict] = field(default_factory=list)  # oauth2PermissionGrant resources
    app_role_assignments: list[dict] = field(default_factory=list)  # appRoleAssignment resources
    auth_methods: dict[str, list[dict]] = field(default_factory=dict)  # user id -> authenticationMethod resources
    registered_devices: dict[str, list[dict]] = field(default_factory=dict)  # user id -> device resources
    # Writes answered as done but not applied, to prove read-backs catch them: (service, cmdlet or path part).
    ignored_writes: set[tuple[str, str]] = field(default_factory=set)
    # Observations
    requests: list[tuple[str, str, str, dict]] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)  # of each request in ``requests``
    exchange_bodies: list[dict] = field(default_factory=list)  # each InvokeCommand body, in order
    token_requests: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    throttles: dict[str, Throttle] = field(default_factory=dict)  # by route family (``family_of``)
    lock: threading.RLock = field(default_factory=threading.RLock)
    servers: FakeServers | None = None

    # --- set-up helpers --------------------------------------------------------------------

    def url(self, service: str) -> str:
        return self.servers.url(service)

    def fail(
        self,
        service,
        method,
        path_contains,
        status,
        *,
        body=None,
        headers=None,
        times=1,
        after=0,
        query=None,
        applied=False,
    ):
        """After ``after`` matching requests (with ``query`` among their parameters, when given), the
        next ``times`` get this answer instead; with ``applied`` they take effect first (the change is
        made, the reply is lost)."""
        response = Response(status, body, headers or {})
        self.faults.append(Fault(service, method, path_contains, response, times, after, query or {}, applied))

    def throttle(self, family: str, *, every: int, retry_after: float | None = 1) -> Throttle:
        """Throttle one route family (``audit``, ``signins``, ``alerts``, ``message_traces``,
        ``risk_detections``) as the service does: every ``every``-th call answers 429 with
        ``Retry-After`` (AF429 for the audit log)."""
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
                "GrantSendOnBehalfTo": [],
            },
        )
        return user

    def user(self, key: str) -> dict | None:
        key = key.lower()
        return next((u for u in self.users.values() if key in (u["id"], u["userPrincipalName"].lower())), None)

    def add_rule(self, upn: str, name: str, *, hidden: bool = False, **settings) -> dict:
        """An inbox rule with Get-InboxRule's property names (ForwardTo, MoveToFolder, SubjectContainsWords…)."""
        rule_identity = str(uuid.uuid4().int)[:19]
        rules = self.rules.setdefault(upn.lower(), {})
        rule = {"Identity": f"{upn}\\{rule_identity}", "RuleIdentity": rule_identity, "Name": name,
                "MailboxOwnerId": upn, "Enabled": True, "Priority": len(rules) + 1, "InError": False,
                "hidden": hidden, **settings}  # fmt: skip
        rules[rule_identity] = rule
        return rule

    def add_grant(self, user: dict, client_id: str, scope: str, resource_id: str = "graph-sp") -> dict:
        grant = {"id": uuid.uuid4().hex, "clientId": client_id, "consentType": "Principal",
                 "principalId": user["id"], "resourceId": resource_id, "scope": scope}  # fmt: skip
        self.oauth2_grants.append(grant)
        return grant

    def add_app_role_assignment(self, user: dict, resource_id: str, app_role_id: str = str(uuid.UUID(int=0))) -> dict:
        assignment = {"id": uuid.uuid4().hex, "principalId": user["id"], "principalType": "User",
                      "resourceId": resource_id, "appRoleId": app_role_id, "resourceDisplayName": "app",
                      "createdDateTime": iso(self.clock())}  # fmt: skip
        self.app_role_assignments.append(assignment)
        return assignment

    def add_auth_method(self, user: dict, odata_type: str, created: datetime | None = None, **properties) -> dict:
        method = {"@odata.type": f"#microsoft.graph.{odata_type}", "id": str(uuid.uuid4()), **properties}
        if created is not None:
            method["createdDateTime"] = iso(created)
        self.auth_methods.setdefault(user["id"], []).append(method)
        return method

    def add_mobile_device(self, upn: str, first_sync: datetime, model: str = "iPhone") -> dict:
        device_id = uuid.uuid4().hex[:32].upper()
        device = {"Identity": f"{upn}\\ExchangeActiveSyncDevices\\{model}§{device_id}", "DeviceId": device_id,
                  "DeviceModel": model, "DeviceOS": "iOS 17", "DeviceType": model, "FirstSyncTime": iso(first_sync),
                  "DeviceAccessState": "Allowed", "ClientType": "EAS", "mailbox": upn.lower()}  # fmt: skip
        self.mobile_devices.append(device)
        return device

    def ignores(self, service: str, operation: str) -> bool:
        return any(service == s and part in operation for s, part in self.ignored_writes)

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
            where = request.path  # what a fault's ``path_contains`` looks in: the path, and the cmdlet's name
            if request.service == "exchange" and request.body:
                self.exchange_bodies.append(request.json())
                where += " " + str((request.json().get("CmdletInput") or {}).get("CmdletName"))
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and fault.service == request.service
                    and fault.method == request.method
                    and fault.path_contains in where
                    and fault.query.items() <= request.query.items()
                ):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.remaining -= 1
                    if fault.applied:
                        self.handle(request)
                    return fault.response
            return self.handle(request)

    def handle(self, request: Request) -> Response:
        with self.lock:
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
            handler = {"graph": graph_identity.handle, "manage": management.handle, "exchange": exchange.handle}
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

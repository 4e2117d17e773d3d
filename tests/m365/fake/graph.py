"""Microsoft Graph v1.0: the four log collections, users, inbox rules, message moves and domains; beta: sign-ins.

Sign-ins are listed as Graph documents them: v1.0 lists interactive sign-ins only; beta lists the
other kinds when asked with ``signInEventTypes/any(t: t eq '…')``, a property v1.0 does not know.
Graph's ``messageRules`` shows the inbox rules Exchange keeps (``fake.rules``) except hidden ones,
which only ``Get-InboxRule -IncludeHidden`` returns; ``/messages`` pages 10 items by default.
``identityProtection/riskDetections`` (List riskDetections): 20 a page unless ``$top`` asks for
more, 500 at most; ``ge``/``le`` on ``detectedDateTime`` and ``activityDateTime`` only (the
date filters Microsoft documents), ``eq`` on the others; ``IdentityRiskEvent.Read.All``.
"""

import re
import uuid
from urllib.parse import urlencode

from m365.times import parse
from tests.m365.fake.server import Request, Response, error, iso_now, too_many_requests

DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
CLAUSE = re.compile(r"^(\w+) (ge|le|eq) ('(?:[^']|'')*'|\S+)$")
ANY_CLAUSE = re.compile(r"^(\w+)/any\((\w+): \2 eq '([^']*)'\)$")
BETA_SIGNINS = "/beta/auditLogs/signIns"
MESSAGE_TRACES = "admin/exchange/tracing/messageTraces"
RISK_DETECTIONS = "identityProtection/riskDetections"
MESSAGE_TRACE_APP = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373"  # Microsoft's "Transport Data Platform" app
APPLICATION_READ = {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"}

COLLECTIONS = {
    "auditLogs/signIns": ("signins", "createdDateTime", {"AuditLog.Read.All"}),
    "security/alerts_v2": ("alerts", "lastUpdateDateTime", {"SecurityAlert.Read.All"}),
    MESSAGE_TRACES: ("message_traces", "receivedDateTime", {"ExchangeMessageTrace.Read.All"}),
    RISK_DETECTIONS: ("risk_detections", "detectedDateTime", {"IdentityRiskEvent.Read.All"}),
}
# Properties a collection filters by range (``ge``/``le``), beyond its time property.
RANGES = {RISK_DETECTIONS: {"detectedDateTime", "activityDateTime"}}
# (default page, the most ``$top`` may ask) where Graph documents them; else 1,000 by default.
PAGES = {RISK_DETECTIONS: (20, 500)}
USER_WRITE = {"User.ReadWrite.All", "Directory.ReadWrite.All"}


def family_of(request: Request) -> str | None:
    """The throttling family of a request: the collection it reads (the remediation routes have none here)."""
    path = "auditLogs/signIns" if request.path == BETA_SIGNINS else request.path.removeprefix("/v1.0/")
    collection = COLLECTIONS.get(path)
    return collection[0] if collection else None


def throttled(fake, request: Request, retry_after: float | None) -> Response:
    """Graph's 429 (Microsoft Graph throttling guidance): TooManyRequests and a Retry-After in seconds."""
    inner = {"code": "429", "status": "429", "message": "Please retry after", "request-id": str(uuid.uuid4())}
    return too_many_requests("TooManyRequests", "Please retry again later.", retry_after, innerError=inner)


def not_found(what: str) -> Response:
    return error(404, "Request_ResourceNotFound", f"Resource '{what}' does not exist or one of its queried "
                 "reference-property objects are not present.")  # fmt: skip


def item_not_found() -> Response:
    return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def handle(fake, request: Request, roles: set[str]) -> Response:
    if request.path == f"/v1.0/applications(appId='{fake.client_id}')" and request.method == "GET":
        return _application(fake, roles)
    if request.path == f"/v1.0/{MESSAGE_TRACES}" and not fake.message_trace_principal:
        return error(401, "Unauthorized", "Service principal-less Authentication failed: the service principal for "
                     f"App ID {MESSAGE_TRACE_APP} was not found. Please create a service principal for this app in "
                     "your tenant. Provisioning may take several hours to complete.")  # fmt: skip
    if request.path == BETA_SIGNINS:
        return _collection(fake, request, roles, "auditLogs/signIns", version="beta")
    path = request.path.removeprefix("/v1.0/")
    if path in COLLECTIONS:
        return _collection(fake, request, roles, path)
    if path == "domains" and request.method == "GET":
        return _domains(fake, request, roles)
    parts = path.split("/")
    if parts[0] != "users" or len(parts) < 2:
        return error(400, "BadRequest", f"Resource not found for the segment '{parts[0]}'.")
    user = fake.user(parts[1])
    if user is None:
        return not_found(parts[1])
    rest = "/".join(parts[2:])
    if rest == "revokeSignInSessions" and request.method == "POST":
        if not roles & ({"User.RevokeSessions.All"} | USER_WRITE):
            return error(403, *DENIED)
        user["revoked"] = user.get("revoked", 0) + 1
        if not fake.ignores("graph", "revokeSignInSessions"):
            user["signInSessionsValidFromDateTime"] = iso_now()
        return Response(200, {"@odata.context": "$metadata#Edm.Boolean", "value": True})
    if rest == "" and request.method == "GET":
        if not roles & ({"User.Read.All", "Directory.Read.All"} | USER_WRITE):
            return error(403, *DENIED)
        return Response(200, {k: v for k, v in user.items() if k != "passwordProfile"})
    if rest == "" and request.method == "PATCH":
        return _patch_user(fake, user, request.json(), roles)
    if rest.startswith("mailFolders/inbox/messageRules"):
        return _rules(fake, request, roles, user, rest.removeprefix("mailFolders/inbox/messageRules").strip("/"))
    if rest.startswith("messages") or rest.startswith("mailFolders/"):
        return _messages(fake, request, roles, user, rest)
    return error(400, "BadRequest", f"Unsupported path {rest}")


def _application(fake, roles) -> Response:
    """The app registration; Entra keeps only the first three characters of a secret (its ``hint``)."""
    if not roles & APPLICATION_READ:
        return error(403, *DENIED)
    secret = {"displayName": "AIR Portal", "hint": fake.client_secret[:3], "secretText": None,
              "keyId": str(uuid.uuid5(uuid.NAMESPACE_URL, fake.client_secret)),
              "endDateTime": fake.secret_expires.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    return Response(200, {"id": str(uuid.uuid4()), "appId": fake.client_id, "passwordCredentials": [secret]})


def _collection(fake, request, roles, path, version="v1.0") -> Response:
    attribute, time_property, needed = COLLECTIONS[path]
    if not roles & needed:
        return error(403, *DENIED)
    odata_filter, event_type = request.query.get("$filter", ""), None
    try:
        if attribute == "signins":
            odata_filter, event_type = _signin_event_type(odata_filter, version)
        ranged = RANGES.get(path, {time_property})
        rows = [
            row
            for row in getattr(fake, attribute)
            if matches(row, odata_filter, ranged)
            and (event_type is None or event_type in row.get("signInEventTypes", ["interactiveUser"]))
        ]
    except ValueError as exc:
        return error(400, "BadRequest", f"Invalid filter clause: {exc}")
    rows = sorted(rows, key=lambda row: row[time_property], reverse=True)
    skip = request.query.get("$skiptoken", "0")
    if not skip.isdigit():
        return error(400, "BadRequest", "The $skiptoken is not valid or has expired.")
    skip = int(skip)
    default, most = PAGES.get(path, (1000, None))
    top = request.query.get("$top", str(default))
    if most is not None and (not top.isdigit() or not 0 < int(top) <= most):
        return error(400, "BadRequest", f"Invalid page size specified: '{top}'. Must be between 1 and {most}.")
    size = min(int(top), fake.page_size)
    body = {
        "@odata.context": f"https://graph.microsoft.com/{version}/$metadata#{path}",
        "value": rows[skip : skip + size],
    }
    if skip + size < len(rows):
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + size)}
        body["@odata.nextLink"] = f"{fake.url('graph')}/{version}/{path}?{urlencode(query)}"
    return Response(200, body)


def _domains(fake, request, roles) -> Response:
    """``GET /domains``: every domain of the tenant, verified or not (Domain.Read.All or Directory.Read.All)."""
    if not roles & {"Domain.Read.All", "Directory.Read.All", "Domain.ReadWrite.All"}:
        return error(403, *DENIED)
    # A tenant always has its initial domain; tests that care list every domain in ``fake.domains``.
    domains = fake.domains or [
        {"id": fake.initial_domain, "isInitial": True, "isDefault": False, "isVerified": True},
        {"id": "contoso.com", "isInitial": False, "isDefault": True, "isVerified": True},
    ]
    skip = int(request.query.get("$skiptoken", 0))
    body = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains",
        "value": domains[skip : skip + fake.page_size],
    }
    if skip + fake.page_size < len(domains):
        body["@odata.nextLink"] = f"{fake.url('graph')}/v1.0/domains?$skiptoken={skip + fake.page_size}"
    return Response(200, body)


def matches(row: dict, odata_filter: str, time_property: str | set[str] | None = None) -> bool:
    """The subset of OData $filter the connector sends: clauses joined by ``and``; ``ge``/``le``
    only on ``time_property`` (one name or a set)."""
    ranged = {time_property} if isinstance(time_property, str) else time_property or set()
    for clause in filter(None, odata_filter.split(" and ")):
        match = CLAUSE.match(clause.strip())
        if match is None:
            raise ValueError(clause)
        prop, operator, value = match.groups()
        if operator == "eq":
            if str(row.get(prop)) != value[1:-1].replace("''", "'"):
                return False
        elif prop not in ranged:
            raise ValueError(f"{prop} does not support {operator}")
        elif (parse(row[prop]) < parse(value)) if operator == "ge" else (parse(row[prop]) > parse(value)):
            return False
    return True


def _signin_event_type(odata_filter: str, version: str) -> tuple[str, str]:
    """The filter without its ``signInEventTypes/any(…)`` clause, and the event type it asks for
    (interactive when it asks for none). Only beta knows the property."""
    event_type, kept = "interactiveUser", []
    for clause in filter(None, odata_filter.split(" and ")):
        any_match = ANY_CLAUSE.match(clause.strip())
        if any_match is None:
            kept.append(clause)
        elif any_match.group(1) == "signInEventTypes" and version == "beta":
            event_type = any_match.group(3)
        else:
            raise ValueError(
                f"Could not find a property named '{any_match.group(1)}' on type 'microsoft.graph.signIn'."
            )
    return " and ".join(kept), event_type


def _patch_user(fake, user: dict, changes: dict, roles: set[str]) -> Response:
    if "passwordProfile" in changes and "User-PasswordProfile.ReadWrite.All" not in roles:
        return error(403, *DENIED)
    if "accountEnabled" in changes and not roles & ({"User.EnableDisableAccount.All"} | USER_WRITE):
        return error(403, *DENIED)
    profile = changes.get("passwordProfile")
    if profile is not None and len(profile.get("password", "")) < 8:
        return error(400, "Request_BadRequest", "The specified password does not comply with password complexity "
                     "requirements. Please provide a different password.")  # fmt: skip
    if fake.ignores("graph", "PATCH users"):
        return Response(204)
    user.update(changes)
    if profile is not None:
        user["lastPasswordChangeDateTime"] = iso_now()
    return Response(204)


def _graph_rule(rule: dict) -> dict:
    """An Exchange inbox rule as Graph's messageRule shows it."""
    addresses = lambda key: [{"emailAddress": {"address": a}} for a in rule.get(key) or []]  # noqa: E731
    actions = {"forwardTo": addresses("ForwardTo"), "forwardAsAttachmentTo": addresses("ForwardAsAttachmentTo"),
               "redirectTo": addresses("RedirectTo"), "moveToFolder": rule.get("MoveToFolder"),
               "markAsRead": rule.get("MarkAsRead"), "delete": rule.get("DeleteMessage"),
               "stopProcessingRules": rule.get("StopProcessingRules")}  # fmt: skip
    conditions = {"subjectContains": rule.get("SubjectContainsWords"),
                  "bodyOrSubjectContains": rule.get("SubjectOrBodyContainsWords")}  # fmt: skip
    return {"id": "AQAAA" + rule["RuleIdentity"], "displayName": rule["Name"], "sequence": rule["Priority"],
            "isEnabled": rule["Enabled"], "hasError": False, "isReadOnly": False,
            "actions": {k: v for k, v in actions.items() if v},
            "conditions": {k: v for k, v in conditions.items() if v}}  # fmt: skip


def _rules(fake, request, roles, user, rule_id) -> Response:
    needed = {"MailboxSettings.ReadWrite"} if request.method != "GET" else {"MailboxSettings.Read",
                                                                              "MailboxSettings.ReadWrite"}  # fmt: skip
    if not roles & needed:
        return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    visible = {
        "AQAAA" + key: rule
        for key, rule in fake.rules.setdefault(user["userPrincipalName"].lower(), {}).items()
        if not rule.get("hidden")
    }
    if not rule_id and request.method == "GET":
        return Response(200, {"value": sorted((_graph_rule(r) for r in visible.values()), key=lambda r: r["sequence"])})
    rule = visible.get(rule_id)
    if rule is None:
        return item_not_found()
    if request.method == "GET":
        return Response(200, _graph_rule(rule))
    if request.method == "DELETE":
        del fake.rules[user["userPrincipalName"].lower()][rule["RuleIdentity"]]
        return Response(204)
    return error(405, "ErrorInvalidRequest", "Unsupported method.")


def _messages(fake, request, roles, user, rest) -> Response:
    needed = {"Mail.ReadWrite"} if request.method != "GET" else {"Mail.Read", "Mail.ReadWrite"}
    if not roles & needed:
        return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    mailbox = fake.messages.setdefault(user["userPrincipalName"].lower(), {})
    parts = rest.split("/")
    if request.method == "GET" and parts[-1] == "messages":
        folder = parts[1] if parts[0] == "mailFolders" else None
        # /messages spans the visible (IPM) folders only; Recoverable Items lies outside them.
        rows = [
            m
            for m in mailbox.values()
            if m["parentFolderId"] == folder or (folder is None and not m["parentFolderId"].startswith("recoverable"))
        ]
        try:
            rows = [m for m in rows if matches(m, request.query.get("$filter", ""))]
        except ValueError as exc:
            return error(400, "BadRequest", f"Invalid filter clause: {exc}")
        return _message_page(fake, request, rows)
    if request.method == "POST" and len(parts) == 3 and parts[2] == "move":
        if fake.ignores("graph", "move"):
            return Response(201, mailbox.get(parts[1]) or {})
        message = mailbox.pop(parts[1], None)
        if message is None:
            return item_not_found()
        # A move creates a copy with a new id in the destination folder, as Exchange does.
        moved = {**message, "id": "AAMk" + uuid.uuid4().hex, "parentFolderId": request.json()["destinationId"]}
        mailbox[moved["id"]] = moved
        return Response(201, moved)
    return error(400, "BadRequest", f"Unsupported path {rest}")


def _message_page(fake, request, rows: list[dict]) -> Response:
    """One page of messages: ``fake.message_page_size`` (10) by default, ``$top`` up to
    ``fake.message_top_limit`` (1000; a server may always give fewer than asked, and a nextLink)."""
    size = min(int(request.query.get("$top", fake.message_page_size)), fake.message_top_limit)
    skip = int(request.query.get("$skip", 0))
    selected = request.query.get("$select")
    keep = set(selected.split(",")) | {"id"} if selected else None
    page = [{k: v for k, v in m.items() if keep is None or k in keep} for m in rows[skip : skip + size]]
    body = {"value": page}
    if skip + size < len(rows):
        query = {k: v for k, v in request.query.items() if k != "$skip"} | {"$skip": str(skip + size)}
        body["@odata.nextLink"] = f"{fake.url('graph')}{request.path}?{urlencode(query)}"
    return Response(200, body)

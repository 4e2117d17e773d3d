"""Exchange Online records of the unified audit log: admin cmdlets (``RecordType`` 1, a ``Parameters``
Name/Value list), mailbox audit operations (``UpdateInboxRules``, ``MailItemsAccessed``), and the
SharePoint and compliance-centre operations an intruder uses to take data away.
"""

import json
from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter, audit_time
from tests.quality.corpus.tenant import ORGANIZATION, TENANT_ID, Person

EXCHANGE_APP = "00000002-0000-0ff1-ce00-000000000000"
OWA_APP = "00000002-0000-0ff1-ce00-000000000000"
LATENCY = timedelta(minutes=50)
_SERVER = "LO2P265MB{:04d} (15.20.7386.{:03d})"


def cmdlet(
    em: Emitter,
    actor: Person,
    at: datetime,
    operation: str,
    parameters: list[tuple[str, str]],
    *,
    ip: str,
    object_id: str,
    admin: bool = False,
    succeeded: bool = True,
) -> None:
    """An Exchange cmdlet as the audit log records it (OWA settings and the admin centre run cmdlets too)."""
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": operation,
        "OrganizationId": TENANT_ID,
        "RecordType": 1,
        "ResultStatus": "True" if succeeded else "False",
        "UserKey": actor.puid,
        "UserType": 2 if admin else 0,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": f"{ip}:{em.rng.randint(1024, 65000)}",
        "ObjectId": object_id,
        "UserId": actor.upn,
        "AppId": EXCHANGE_APP,
        "ClientAppId": "",
        "ExternalAccess": False,
        "OrganizationName": ORGANIZATION,
        "OriginatingServer": _SERVER.format(em.rng.randint(1000, 9999), em.rng.randint(1, 999)),
        "Parameters": [{"Name": name, "Value": value} for name, value in parameters],
        "SessionId": em.guid(),
    }
    em.add("o365-audit", at, record, delay=LATENCY)


def rule_object_id(person: Person, name: str) -> str:
    return f"EURPR02A007.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{ORGANIZATION}/{person.alias}\\{name}"


def new_inbox_rule(em: Emitter, person: Person, at: datetime, name: str, parameters, *, ip: str) -> None:
    """``New-InboxRule`` as Outlook on the web runs it when a user saves a rule."""
    params = [("AlwaysDeleteOutlookRulesBlob", "False"), ("Force", "False"), ("Name", name), *parameters]
    cmdlet(em, person, at, "New-InboxRule", params, ip=ip, object_id=rule_object_id(person, name))


def update_inbox_rules(
    em: Emitter,
    person: Person,
    at: datetime,
    *,
    name: str,
    condition: str,
    actions: list[dict],
    ip: str,
    operation: str = "AddMailboxRule",
    client: str = "Client=MSExchangeRPC",
) -> None:
    """``UpdateInboxRules``: a rule saved from desktop Outlook (mailbox audit, ``RecordType`` 2)."""
    record = {
        "AppAccessContext": {},
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": "UpdateInboxRules",
        "OrganizationId": TENANT_ID,
        "RecordType": 2,
        "ResultStatus": "Succeeded",
        "UserKey": person.puid,
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": ip,
        "UserId": person.upn,
        "ClientIPAddress": ip,
        "ClientInfoString": client,
        "ClientProcessName": "OUTLOOK.EXE",
        "ClientVersion": "16.0.17328.20550",
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "LogonUserSid": f"S-1-5-21-{em.rng.getrandbits(30)}",
        "MailboxGuid": em.guid(),
        "MailboxOwnerUPN": person.upn,
        "OperationProperties": [
            {"Name": "RuleOperation", "Value": operation},
            {"Name": "RuleId", "Value": str(em.rng.randint(10**17, 10**18))},
            {"Name": "RuleState", "Value": "Enabled, ExitAfterExecution"},
            {"Name": "RuleCondition", "Value": condition},
            {"Name": "RuleName", "Value": name},
            {"Name": "RuleProvider", "Value": "RuleOrganizer"},
            {"Name": "RuleActions", "Value": json.dumps(actions)},
        ],
        "OrganizationName": ORGANIZATION,
        "OriginatingServer": "LO2P265MB5221 (15.20.7386.021)\r\n",
        "SessionId": em.guid(),
        "Item": {
            "Id": em.guid(),
            "ParentFolder": {"Id": em.guid(), "Name": "Inbox", "Path": "\\Inbox"},
        },
    }
    em.add("o365-audit", at, record, delay=LATENCY)


def mail_items_accessed(
    em: Emitter,
    person: Person,
    at: datetime,
    *,
    ip: str,
    count: int,
    access: str = "Bind",
    throttled: bool = False,
    app_id: str = EXCHANGE_APP,
    client_app_id: str = "",
    client: str = "Client=OWA;Action=ViewConversation",
) -> None:
    """``MailItemsAccessed`` (RecordType 50): ``Sync`` names folders, ``Bind`` lists the items read."""
    items = [
        {
            "Id": em.guid(),
            "InternetMessageId": f"<{em.guid()}@{ORGANIZATION}>",
            "SizeInBytes": em.rng.randint(9_000, 900_000),
        }
        for _ in range(min(count, 10))
    ]
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": "MailItemsAccessed",
        "OrganizationId": TENANT_ID,
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": person.puid,
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": person.upn,
        "AppId": app_id,
        "ClientAppId": client_app_id,
        "ClientIPAddress": ip,
        "ClientInfoString": client,
        "ExternalAccess": "False",
        "InternalLogonType": 0,
        "LogonType": 0,
        "MailboxGuid": em.guid(),
        "MailboxOwnerUPN": person.upn,
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": access},
            {"Name": "IsThrottled", "Value": str(throttled)},
        ],
        "OrganizationName": ORGANIZATION,
        "OriginatingServer": "LO2P265MB5221 (15.20.7386.021)\r\n",
        "Folders": [{"FolderItems": items if access == "Bind" else [], "Id": em.guid(), "Path": "\\Inbox"}],
        "OperationCount": count,
    }
    em.add("o365-audit", at, record, delay=LATENCY)


def file_downloaded(em: Emitter, person: Person, at: datetime, *, ip: str, agent: str, site: str, file_name: str):
    """A SharePoint/OneDrive ``FileDownloaded`` (RecordType 6)."""
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": "FileDownloaded",
        "OrganizationId": TENANT_ID,
        "RecordType": 6,
        "UserKey": f"i:0h.f|membership|{person.puid.lower()}@live.com",
        "UserType": 0,
        "Version": 1,
        "Workload": "SharePoint",
        "ClientIP": ip,
        "ObjectId": f"https://northwindtraders.sharepoint.com/sites/{site}/Shared Documents/{file_name}",
        "UserId": person.upn,
        "ApplicationDisplayName": "Microsoft SharePoint Online Web Client Extensibility",
        "EventSource": "SharePoint",
        "ItemType": "File",
        "Site": em.guid(),
        "UserAgent": agent,
        "WebId": em.guid(),
        "SourceFileExtension": file_name.rsplit(".", 1)[-1],
        "SiteUrl": f"https://northwindtraders.sharepoint.com/sites/{site}/",
        "SourceFileName": file_name,
        "SourceRelativeUrl": "Shared Documents",
    }
    em.add("o365-audit", at, record, delay=LATENCY)


def compliance_cmdlet(em: Emitter, actor: Person, at: datetime, operation: str, parameters: str, *, ip: str):
    """A Security & Compliance PowerShell cmdlet (RecordType 18): ``Parameters`` is one string there."""
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": operation,
        "OrganizationId": TENANT_ID,
        "RecordType": 18,
        "ResultStatus": "True",
        "UserKey": actor.puid,
        "UserType": 0,
        "Version": 1,
        "Workload": "SecurityComplianceCenter",
        "ClientIP": ip,
        "ObjectId": "",
        "UserId": actor.upn,
        "CmdletVersion": "",
        "EffectiveOrganization": ORGANIZATION,
        "UserServicePlan": "",
        "ClientApplication": "EMC",
        "Parameters": parameters,
        "SecurityComplianceCenterEventType": 0,
        "StartTime": audit_time(at),
    }
    em.add("o365-audit", at, record, delay=LATENCY)


def folder_permission_audit(
    em: Emitter,
    owner: Person,
    at: datetime,
    *,
    member: str,
    rights: str,
    folder: str = "Inbox",
    ip: str,
    operation: str = "AddFolderPermissions",
) -> None:
    """A folder shared from Outlook (mailbox audit, RecordType 2): the member and its rights sit in
    ``Item.ParentFolder`` (``MemberUpn``: an address, ``Everyone`` for Default, ``Anonymous``)."""
    record = {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": operation,
        "OrganizationId": TENANT_ID,
        "RecordType": 2,
        "ResultStatus": "Succeeded",
        "UserKey": owner.puid,
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": ip,
        "UserId": owner.upn,
        "ClientIPAddress": ip,
        "ClientInfoString": "Client=MSExchangeRPC",
        "ClientProcessName": "OUTLOOK.EXE",
        "ExternalAccess": False,
        "LogonType": 0,
        "MailboxGuid": em.guid(),
        "MailboxOwnerUPN": owner.upn,
        "OrganizationName": ORGANIZATION,
        "OriginatingServer": "LO2P265MB5221 (15.20.7386.021)\r\n",
        "Item": {
            "Id": em.guid(),
            "ParentFolder": {
                "Id": em.guid(),
                "Name": folder,
                "Path": f"\\{folder}",
                "MemberSid": f"S-1-5-21-{em.rng.getrandbits(30)}",
                "MemberUpn": member,
                "MemberRights": rights,
            },
        },
    }
    em.add("o365-audit", at, record, delay=LATENCY)

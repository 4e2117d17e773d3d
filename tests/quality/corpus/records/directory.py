"""Entra ID directory activity as the unified audit log records it (``Workload`` AzureActiveDirectory,
``RecordType`` 8): "Update user." with StrongAuthentication properties, security info
registrations, and "Consent to application.".
"""

import json
from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter, audit_time
from tests.quality.corpus.tenant import TENANT_ID, Person

LATENCY = timedelta(minutes=40)
MFA_STATE_TIME = "2025-11-03T09:12:44.1130000Z"


def _record(
    em: Emitter, actor: Person | str, at: datetime, operation: str, *, ip: str, object_id: str, **extra
) -> dict:
    actor_upn = actor if isinstance(actor, str) else actor.upn
    actor_key = actor if isinstance(actor, str) else actor.puid
    return {
        "CreationTime": audit_time(at),
        "Id": em.guid(),
        "Operation": operation,
        "OrganizationId": TENANT_ID,
        "RecordType": 8,
        "ResultStatus": "Success",
        "UserKey": actor_key,
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": ip,
        "ObjectId": object_id,
        "UserId": actor_upn,
        "AzureActiveDirectoryEventType": 1,
        "ActorContextId": TENANT_ID,
        "ActorIpAddress": ip,
        "InterSystemsId": em.guid(),
        "IntraSystemId": em.guid(),
        "SupportTicketId": "",
        "TargetContextId": TENANT_ID,
        **extra,
    }


def update_user(
    em: Emitter, actor: Person, target: Person, at: datetime, changes: list[tuple[str, str, str]], *, ip: str
) -> None:
    """``Update user.`` with ``ModifiedProperties`` (name, old, new) and the "Included Updated Properties" list."""
    modified = [{"Name": name, "NewValue": new, "OldValue": old} for name, old, new in changes]
    modified.append(
        {"Name": "Included Updated Properties", "NewValue": ", ".join(n for n, _, _ in changes), "OldValue": ""}
    )
    record = _record(
        em,
        actor,
        at,
        "Update user.",
        ip=ip,
        object_id=target.upn,
        ExtendedProperties=[
            {"Name": "additionalDetails", "Value": json.dumps({"UserType": "Member"})},
            {"Name": "extendedAuditEventCategory", "Value": "User"},
        ],
        ModifiedProperties=modified,
        Actor=[{"ID": actor.upn, "Type": 5}, {"ID": actor.puid, "Type": 3}],
        Target=[{"ID": f"User_{target.object_id}", "Type": 2}, {"ID": target.upn, "Type": 5}],
    )
    em.add("o365-audit", at, record, delay=LATENCY)


def methods(*types: int) -> str:
    """``StrongAuthenticationMethod`` values: 6 = Authenticator notification, 7 = OTP, 0/5 = phone."""
    return json.dumps([{"MethodType": kind, "Default": index == 0} for index, kind in enumerate(types)])


def mfa_requirement(state: int | None) -> str:
    if state is None:
        return "[]"
    return json.dumps([{"RelyingParty": "*", "State": state, "RememberDevicesNotIssuedBefore": MFA_STATE_TIME}])


def security_info(em: Emitter, person: Person, at: datetime, operation: str, *, ip: str, agent: str) -> None:
    """ "User registered security info." (and its siblings) from the Authentication Methods service."""
    record = _record(
        em,
        person,
        at,
        operation,
        ip=ip,
        object_id=person.upn,
        ExtendedProperties=[
            {"Name": "additionalDetails", "Value": json.dumps({"User-Agent": agent})},
            {"Name": "extendedAuditEventCategory", "Value": "User"},
        ],
        ModifiedProperties=[],
        Actor=[{"ID": person.upn, "Type": 5}, {"ID": person.puid, "Type": 3}],
        Target=[{"ID": f"User_{person.object_id}", "Type": 2}, {"ID": person.upn, "Type": 5}],
    )
    em.add("o365-audit", at, record, delay=LATENCY)


def consent(em: Emitter, person: Person, at: datetime, *, app_name: str, client_id: str, scopes: str, ip: str) -> None:
    """ "Consent to application." by a user for themselves (no admin consent)."""
    grant = (
        f"[] => [[Id: {em.guid()}, ClientId: {client_id}, PrincipalId: {person.object_id}, "
        f"ResourceId: {em.guid()}, ConsentType: Principal, Scope:  {scopes}, CreatedDateTime: , "
        "LastModifiedDateTime ]]; "
    )
    record = _record(
        em,
        person,
        at,
        "Consent to application.",
        ip=ip,
        object_id=client_id,
        ExtendedProperties=[
            {"Name": "additionalDetails", "Value": json.dumps({"User-Agent": "EvoSTS", "AppId": client_id})},
            {"Name": "extendedAuditEventCategory", "Value": "ServicePrincipal"},
        ],
        ModifiedProperties=[
            {"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentContext.IsAppOnly", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentContext.OnBehalfOfAll", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentContext.Tags", "NewValue": "WindowsAzureActiveDirectoryIntegratedApp", "OldValue": ""},
            {"Name": "ConsentAction.Permissions", "NewValue": grant, "OldValue": ""},
            {"Name": "TargetId.ServicePrincipalNames", "NewValue": client_id, "OldValue": ""},
        ],
        Actor=[{"ID": person.upn, "Type": 5}, {"ID": person.puid, "Type": 3}, {"ID": "Azure ESTS Service", "Type": 1}],
        Target=[
            {"ID": f"ServicePrincipal_{em.guid()}", "Type": 2},
            {"ID": "ServicePrincipal", "Type": 2},
            {"ID": app_name, "Type": 1},
            {"ID": client_id, "Type": 2},
        ],
    )
    em.add("o365-audit", at, record, delay=LATENCY)

"""``o365-audit``: Office 365 Management Activity API records (the common schema).

Also reads the same records as Panther (lower-cased keys), Sentinel's OfficeActivity table
(``TimeGenerated``, ``OfficeId``, nested lists as JSON strings) and a Purview audit search export
row whose ``AuditData`` holds the record. Operations we do not map are stored as ``other``
with their operation name and raw record; only a record that names no user is rejected.
"""

import re
from typing import Any

from alerts.adapters.base import AdapterContext, NormalisedEvent, RecordError, RecordSkipped, is_phantom
from alerts.adapters.directory import directory_attributes, directory_kind, modified_properties, operation_key
from alerts.adapters.exchange import cmdlet_event, mailbox_event
from alerts.adapters.fields import (
    as_list,
    email_addresses,
    json_value,
    lower_keys,
    name_values,
    normalise_ip,
    objects,
    parse_bool,
    parse_int,
    parse_time,
    pick,
    require_object,
    text,
    upn,
)
from alerts.adapters.principals import principal_name
from alerts.models import Event

_SIGNIN_OPERATIONS = {"userloggedin": Event.Kind.SIGNIN, "userloginfailed": Event.Kind.SIGNIN_FAILED}
_ALERT_OPERATIONS = frozenset({"alertentitygenerated", "alerttriggered", "alertupdated"})
_SENDING_RESTRICTED = "user restricted from sending email"
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
# Directory audit record types (AzureActiveDirectory, AzureActiveDirectoryAccountLogon excluded).
_DIRECTORY_RECORD_TYPES = frozenset({8, 9})
_FILE_WORKLOADS = frozenset({"sharepoint", "onedrive"})
# ExchangeAdmin, ExchangeItem, ExchangeItemGroup, ExchangeAggregatedOperation.
_EXCHANGE_RECORD_TYPES = frozenset({1, 2, 3, 50})


def normalise(record: Any, ctx: AdapterContext) -> list[NormalisedEvent]:
    rec = lower_keys(require_object(record))
    if "auditdata" in rec:  # a Purview audit search export row: the record is inside
        record = json_value(rec["auditdata"])
        if not isinstance(record, dict):
            raise RecordError("AuditData is not a JSON object")
        rec = lower_keys(record)
    operation = text(pick(rec, "operation", "operations"))
    if not operation:
        raise RecordError("missing Operation")
    occurred_at = parse_time(pick(rec, "creationtime", "timegenerated", "creationdate"))
    actor = upn(pick(rec, "userid", "userids", "userid_"))
    event = _event(operation, rec, actor, ctx)
    if event.upn is not None and is_phantom(event.upn):
        raise RecordSkipped(f"the record names no user ({'UserId is empty' if not event.upn else event.upn})")
    event.occurred_at = occurred_at
    event.operation = operation
    event.source_record_id = text(pick(rec, "id", "officeid", "recordid", "sourcerecordid"))
    if event.ip is None:
        event.ip = normalise_ip(pick(rec, "clientip", "clientipaddress", "client_ipaddress", "actoripaddress"))
    event.attributes.setdefault("workload", text(pick(rec, "workload", "officeworkload")))
    event.attributes.setdefault("user_type", text(rec.get("usertype")))
    if actor and actor != event.upn:
        event.attributes.setdefault("actor", actor)
    event.raw = record
    return [event]


def _event(operation: str, rec: dict[str, Any], actor: str, ctx: AdapterContext) -> NormalisedEvent:
    key = operation.lower()
    workload = text(pick(rec, "workload", "officeworkload")).lower()
    if key in _SIGNIN_OPERATIONS:
        return _signin(_SIGNIN_OPERATIONS[key], rec, actor)
    if key in _ALERT_OPERATIONS and workload in {"securitycompliancecenter", ""}:
        return _compliance_alert(rec, actor)
    if workload == "mcas" or key.startswith("mcas_alert"):
        return _cloud_app_alert(rec, actor)
    if workload == "azureactivedirectory" or parse_int(rec.get("recordtype")) in _DIRECTORY_RECORD_TYPES:
        return _directory(operation, rec, actor)
    if workload == "exchange" or parse_int(rec.get("recordtype")) in _EXCHANGE_RECORD_TYPES:
        actor = _exchange_actor(rec, actor, ctx)
    mapped = cmdlet_event(operation, rec, actor, ctx) or mailbox_event(operation, rec, actor, ctx)
    if mapped is not None:
        kind, owner, fields = mapped
        return NormalisedEvent(
            upn=owner, occurred_at=None, kind=kind, user_agent=_exchange_client(rec), succeeded=_result(rec), **fields
        )
    if workload in _FILE_WORKLOADS:
        return NormalisedEvent(
            upn=_file_user(actor),
            occurred_at=None,
            kind=Event.Kind.OTHER,
            user_agent=text(rec.get("useragent")),
            target=text(rec.get("objectid"))[:500],
            attributes={**_other_attributes(rec), **_file_attributes(rec)},
        )
    return NormalisedEvent(upn=actor, occurred_at=None, kind=Event.Kind.OTHER, attributes=_other_attributes(rec))


def _file_user(actor: str) -> str:
    """SharePoint names guests ``urn:spo:guest#a@b`` and people with an anyone-link ``urn:spo:anon#…``
    (no person: skipped)."""
    if actor.startswith("urn:spo:anon"):
        return ""
    return actor.removeprefix("urn:spo:guest#")


def _file_attributes(rec: dict[str, Any]) -> dict[str, Any]:
    """What an analyst needs of a SharePoint / OneDrive file operation (``Audit.SharePoint``): which file,
    where, how big, and for sharing links who may use them."""
    attributes = {
        "file": text(rec.get("sourcefilename")),
        "site_url": text(rec.get("siteurl")),
        "folder": text(rec.get("sourcerelativeurl")),
        "size_bytes": parse_int(rec.get("filesizebytes")) or parse_int(rec.get("filesyncbytescommitted")),
        "target_user": text(rec.get("targetuserorgroupname")),
        "target_user_type": text(rec.get("targetuserorgrouptype")),
        "managed_device": parse_bool(rec.get("ismanageddevice")),
    }
    return {key: value for key, value in attributes.items() if value not in ("", None)}


def _signin(kind: str, rec: dict[str, Any], actor: str) -> NormalisedEvent:
    extended = name_values(rec.get("extendedproperties"))
    device = name_values(rec.get("deviceproperties"))
    request_id = text(pick(rec, "intrasystemid", "id"))
    user_agent = text(extended.get("useragent"))
    succeeded = kind == Event.Kind.SIGNIN
    error_code = parse_int(rec.get("errornumber"))
    attributes = {
        "error_code": error_code if error_code is not None else (0 if succeeded else None),
        "logon_error": text(rec.get("logonerror")),
        "result_status": text(rec.get("resultstatus")),
        "result_status_detail": text(extended.get("resultstatusdetail")),
        "request_type": text(extended.get("requesttype")),
        "user_authentication_method": text(extended.get("userauthenticationmethod")),
        "keep_me_signed_in": parse_bool(extended.get("keepmesignedin")),
        "request_id": request_id,
        "correlation_id": text(rec.get("intersystemsid")),
        "app_id": text(rec.get("applicationid")),
        "resource_id": text(rec.get("objectid")),
        "device": {
            "os": text(device.get("os")),
            "browser": text(device.get("browsertype")),
            "is_compliant": parse_bool(device.get("iscompliant")),
            "is_managed": parse_bool(device.get("iscompliantandmanaged")),
            "trust_type": text(device.get("trusttype")),
            "display_name": text(device.get("displayname")),
        },
        "session_id": text(device.get("sessionid")),
        "legacy_protocol": "bav2ropc" in user_agent.lower() or None,
    }
    return NormalisedEvent(
        upn=actor,
        occurred_at=None,
        kind=kind,
        # The ESTS request id: the same value is the Graph signIn ``id`` of this sign-in.
        dedup_key=f"signin:{request_id.lower()}" if request_id else None,
        ip=normalise_ip(pick(rec, "clientip", "actoripaddress")),
        app=text(rec.get("applicationid")),
        user_agent=user_agent,
        succeeded=succeeded,
        target=text(rec.get("objectid")),
        attributes=attributes,
    )


def _compliance_alert(rec: dict[str, Any], actor: str) -> NormalisedEvent:
    """Security & Compliance alert records: one per alert (AlertTriggered) and per entity (AlertEntityGenerated)."""
    data = lower_keys(json_value(rec.get("data")))
    title = _INVISIBLE.sub("", text(rec.get("name")) or text(data.get("an"))).strip()
    kind = Event.Kind.SENDING_RESTRICTED if title.lower() == _SENDING_RESTRICTED else Event.Kind.EXTERNAL_ALERT
    candidates = [rec.get("objectid"), rec.get("alertentityid"), data.get("eid"), data.get("f3u"), data.get("trc")]
    user = next((found[0] for found in map(email_addresses, candidates) if found and "@" in found[0]), actor)
    if is_phantom(user) and kind == Event.Kind.EXTERNAL_ALERT:
        user = None  # written by the alerting service itself, about no user: an alert about no user
    alert_id = text(rec.get("alertid"))
    ips = [ip for ip in (normalise_ip(data.get(key)) for key in ("sip", "ecip", "cip")) if ip]
    attributes = {
        "title": title,
        "severity": text(rec.get("severity") or data.get("sev")).lower(),
        "category": text(rec.get("category")),
        "status": text(rec.get("status")),
        "service_source": text(rec.get("source")) or "Office 365 Security & Compliance",
        "provider_alert_id": alert_id,
        "alert_type": text(rec.get("alerttype")),
        "policy_id": text(rec.get("policyid")),
        "entity_type": text(rec.get("entitytype")),
        "evidence_ips": ips,
        "description": text(data.get("ad"))[:1000],
    }
    owner = upn(user) if user is not None else None
    return NormalisedEvent(
        upn=owner,
        occurred_at=None,
        kind=kind,
        dedup_key=f"alert:{kind}:{alert_id.lower()}" + (f":{owner}" if owner else "") if alert_id else None,
        ip=ips[0] if ips else None,
        subject=title,
        target=alert_id,
        attributes=attributes,
    )


def _cloud_app_alert(rec: dict[str, Any], actor: str) -> NormalisedEvent:
    ips = [ip for ip in (normalise_ip(value) for value in as_list(json_value(rec.get("clientips")))) if ip]
    title = text(rec.get("alertdisplayname")) or text(rec.get("operation"))
    attributes = {
        "title": title,
        "severity": text(rec.get("alertseverity")).lower(),
        "category": text(rec.get("alertcategory")),
        "status": text(rec.get("resultstatus")),
        "service_source": "microsoftDefenderForCloudApps",
        "provider_alert_id": text(rec.get("objectid")),
        "evidence_ips": ips,
        "description": text(rec.get("alertdescription"))[:1000],
    }
    return NormalisedEvent(
        upn=actor,
        occurred_at=None,
        kind=Event.Kind.EXTERNAL_ALERT,
        ip=ips[0] if ips else None,
        subject=title,
        target=text(rec.get("objectid")),
        attributes=attributes,
    )


def _directory(operation: str, rec: dict[str, Any], actor: str) -> NormalisedEvent:
    changes = modified_properties(rec.get("modifiedproperties"))
    kind = directory_kind(operation, changes)
    targets = objects(rec.get("target"))
    target_user = next((upn(item.get("id")) for item in targets if parse_int(item.get("type")) == 5), "")
    if not target_user and "@" in text(rec.get("objectid")):
        target_user = upn(rec.get("objectid"))
    attributes = directory_attributes(kind, changes)
    attributes["actor"] = actor
    subject_user = target_user or actor
    target = target_user or text(rec.get("objectid"))
    if kind == Event.Kind.OAUTH_CONSENT:
        # The consenting user is the actor; the target is the application.
        subject_user = actor or target_user
        target = next((text(item.get("id")) for item in targets if parse_int(item.get("type")) == 1), "")
        attributes["app_display_name"] = target
    extended = name_values(rec.get("extendedproperties"))
    return NormalisedEvent(
        upn=subject_user,
        occurred_at=None,
        kind=kind,
        succeeded=_result(rec),
        target=target,
        user_agent=_user_agent_from_details(extended),
        attributes=attributes,
        ip=normalise_ip(pick(rec, "actoripaddress", "clientip")),
    )


def _result(rec: dict[str, Any]) -> bool | None:
    """``ResultStatus``: ``True``/``False`` on cmdlets, ``Succeeded``/``Failed`` on mailbox audit and
    ``Success``/``Failure`` on directory records. A failed change changed nothing: it is stored
    (``succeeded=False``), and detectors and playbook checks leave it out."""
    status = text(rec.get("resultstatus")).lower()
    if status in {"success", "succeeded", "true", "partiallysucceeded"}:
        return True
    if status in {"failure", "failed", "false"}:
        return False
    return None


def _exchange_actor(rec: dict[str, Any], actor: str, ctx: AdapterContext) -> str:
    """Who ran an Exchange operation, as a UPN when the record names them otherwise.

    Cmdlets run through some admin paths record ``UserId`` as ``DOMAIN\\alias`` or a display name;
    ``UserKey`` then often holds the Entra object id. Names that resolve to no identity are kept.
    """
    if "@" in actor or is_phantom(actor):
        return actor
    for candidate in (actor, text(rec.get("userkey"))):
        resolved = ctx.upn_of(principal_name(candidate)) if candidate else ""
        if resolved:
            return resolved
    return actor


def _user_agent_from_details(extended: dict[str, Any]) -> str:
    details = lower_keys(json_value(extended.get("additionaldetails")))
    return text(details.get("user-agent"))


def _exchange_client(rec: dict[str, Any]) -> str:
    return text(rec.get("clientinfostring"))


def _other_attributes(rec: dict[str, Any]) -> dict[str, Any]:
    """What an analyst wants at a glance on an activity we do not interpret."""
    attributes = {
        "object_id": text(rec.get("objectid"))[:300],
        "result_status": text(rec.get("resultstatus")),
        "record_type": text(rec.get("recordtype")),
    }
    item = lower_keys(json_value(rec.get("item")))
    if item:
        attributes["item_subject"] = text(item.get("subject"))[:300]
        attributes["folder"] = text(lower_keys(item.get("parentfolder")).get("path"))[:300]
    if operation_key(text(rec.get("operation"))) in {"softdelete", "harddelete", "movetodeleteditems"}:
        attributes["item_count"] = parse_int(rec.get("operationcount"))
    return {key: value for key, value in attributes.items() if value not in ("", None)}

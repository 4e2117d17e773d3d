"""``entra-signins``: Microsoft Graph ``signIn`` resources, and the Azure Monitor / Event Hub
diagnostic records (``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``AuditLogs``,
``UserRiskEvents``) whose ``properties`` hold the same fields.

A Graph ``directoryAudit`` posted here is read like the directory records of the O365 audit
log (MFA changes, consents, password changes). The sign-in ``id`` is Entra's request id; the
O365 audit log carries it as ``IntraSystemId``, so both share ``dedup_key = "signin:<id>"``.
"""

import json
from typing import Any

from alerts.adapters.base import AdapterContext, NormalisedEvent, RecordSkipped
from alerts.adapters.directory import directory_attributes, directory_kind, modified_properties
from alerts.adapters.fields import (
    as_list,
    lower_keys,
    normalise_ip,
    objects,
    parse_bool,
    parse_float,
    parse_int,
    parse_time,
    pick,
    require_object,
    text,
    upn,
)
from alerts.models import Event

# clientAppUsed values of modern authentication; every other named client is a legacy protocol
# (Exchange ActiveSync, IMAP4, POP3, Authenticated SMTP, MAPI, EWS, "Other clients"…).
MODERN_CLIENTS = frozenset({"browser", "mobile apps and desktop clients"})
_RISK_CATEGORIES = frozenset({"userriskevents", "riskyusers", "serviceprincipalriskevents"})


def normalise(record: Any, ctx: AdapterContext) -> list[NormalisedEvent]:
    rec = lower_keys(require_object(record))
    properties = rec.get("properties")
    if isinstance(properties, dict):
        event = _from_envelope(rec, lower_keys(properties))
    elif "activitydisplayname" in rec:
        event = _directory_audit(rec)
    elif "riskeventtype" in rec:
        event = _risk_detection(rec, rec)
    else:
        event = _signin(rec, rec)
    if not event.upn:
        raise RecordSkipped("the record names no user (userPrincipalName is empty)")
    event.raw = record
    return [event]


def _from_envelope(envelope: dict[str, Any], inner: dict[str, Any]) -> NormalisedEvent:
    category = text(envelope.get("category")).lower()
    if category.endswith("signinlogs") or (not category and "status" in inner):
        event = _signin(inner, envelope)
    elif category == "auditlogs" or "activitydisplayname" in inner:
        event = _directory_audit(inner)
    elif category in _RISK_CATEGORIES or "riskeventtype" in inner:
        event = _risk_detection(inner, envelope)
    else:
        event = NormalisedEvent(
            upn=upn(pick(inner, "userprincipalname") or pick(envelope, "userprincipalname")),
            occurred_at=parse_time(pick(inner, "createddatetime", "activitydatetime") or envelope.get("time")),
            kind=Event.Kind.OTHER,
            operation=text(envelope.get("operationname")) or category,
            source_record_id=text(pick(inner, "id", "requestid")),
            ip=normalise_ip(pick(inner, "ipaddress") or envelope.get("calleripaddress")),
        )
    event.attributes.setdefault("category", text(envelope.get("category")))
    return event


def _signin(rec: dict[str, Any], envelope: dict[str, Any]) -> NormalisedEvent:
    user = upn(rec.get("userprincipalname"))
    if not user and pick(rec, "serviceprincipalid", "serviceprincipalname"):
        raise RecordSkipped("a service principal's sign-in names no user")
    status = lower_keys(rec.get("status"))
    error_code = parse_int(status.get("errorcode"))
    if error_code is None:
        error_code = parse_int(envelope.get("resulttype"))
    succeeded = None if error_code is None else error_code == 0
    location, country, latitude, longitude = _location(rec)
    client_app = text(rec.get("clientappused"))
    request_id = text(rec.get("id"))
    device = lower_keys(rec.get("devicedetail"))
    risk_types = rec.get("riskeventtypes_v2") or rec.get("riskeventtypes")
    attributes = {
        "error_code": error_code,
        "failure_reason": text(status.get("failurereason")),
        "status_detail": text(status.get("additionaldetails")),
        "risk_level": text(rec.get("risklevelduringsignin")).lower(),
        "risk_level_aggregated": text(rec.get("risklevelaggregated")).lower(),
        "risk_state": text(rec.get("riskstate")).lower(),
        "risk_detail": text(rec.get("riskdetail")),
        "risk_event_types": [text(item) for item in risk_types if text(item)] if isinstance(risk_types, list) else [],
        "client_app": client_app,
        "legacy_protocol": bool(client_app) and client_app.lower() not in MODERN_CLIENTS,
        "authentication_requirement": text(rec.get("authenticationrequirement")),
        "conditional_access_status": text(rec.get("conditionalaccessstatus")),
        "authentication_protocol": text(rec.get("authenticationprotocol")),
        "authentication_methods": _authentication_methods(rec.get("authenticationdetails")),
        "incoming_token_type": text(rec.get("incomingtokentype")),
        "is_interactive": parse_bool(rec.get("isinteractive")),
        "request_id": request_id,
        "original_request_id": text(rec.get("originalrequestid")),
        "correlation_id": text(rec.get("correlationid")),
        "session_id": text(rec.get("sessionid")),
        "app_id": text(rec.get("appid")),
        "resource": text(rec.get("resourcedisplayname")),
        "resource_id": text(rec.get("resourceid")),
        "user_type": text(rec.get("usertype")),
        "device": {
            "device_id": text(device.get("deviceid")),
            "display_name": text(device.get("displayname")),
            "os": text(device.get("operatingsystem")),
            "browser": text(device.get("browser")),
            "is_compliant": parse_bool(device.get("iscompliant")),
            "is_managed": parse_bool(device.get("ismanaged")),
            "trust_type": text(device.get("trusttype")),
        },
        "state": text(location.get("state")),
        "autonomous_system_number": parse_int(rec.get("autonomoussystemnumber")),
    }
    return NormalisedEvent(
        upn=user,
        occurred_at=parse_time(pick(rec, "createddatetime") or envelope.get("time")),
        kind=Event.Kind.SIGNIN_FAILED if succeeded is False else Event.Kind.SIGNIN,
        operation="Sign-in activity",
        source_record_id=request_id,
        dedup_key=f"signin:{request_id.lower()}" if request_id else None,
        ip=normalise_ip(pick(rec, "ipaddress") or envelope.get("calleripaddress")),
        country=country,
        city=text(location.get("city")),
        latitude=latitude,
        longitude=longitude,
        app=text(rec.get("appdisplayname")),
        user_agent=text(rec.get("useragent")),
        succeeded=succeeded,
        target=text(rec.get("resourcedisplayname")),
        attributes=attributes,
        display_name=text(rec.get("userdisplayname")),
        external_id=text(rec.get("userid")),
    )


def _location(rec: dict[str, Any]) -> tuple[dict[str, Any], str, float | None, float | None]:
    """A ``signInLocation`` (sign-ins and risk detections): the object, its ISO country and coordinates."""
    location = lower_keys(rec.get("location"))
    coordinates = lower_keys(location.get("geocoordinates"))
    latitude, longitude = parse_float(coordinates.get("latitude")), parse_float(coordinates.get("longitude"))
    if latitude == 0 and longitude == 0:  # Entra writes 0,0 when it does not know
        latitude = longitude = None
    country = text(location.get("countryorregion")).upper()
    return location, country if len(country) == 2 and country.isalpha() else "", latitude, longitude


def _authentication_methods(details: Any) -> list[str]:
    methods: list[str] = []
    for step in details if isinstance(details, list) else []:
        method = text(lower_keys(step).get("authenticationmethod"))
        if method and method not in methods:
            methods.append(method)
    return methods


def _directory_audit(rec: dict[str, Any]) -> NormalisedEvent:
    operation = text(rec.get("activitydisplayname"))
    targets = objects(rec.get("targetresources"))
    changes: dict[str, tuple[Any, Any]] = {}
    for target in targets:
        for name, change in modified_properties(target.get("modifiedproperties")).items():
            changes.setdefault(name, change)
    kind = directory_kind(operation, changes)
    initiated_by = lower_keys(rec.get("initiatedby"))
    initiator = lower_keys(initiated_by.get("user"))
    actor = upn(initiator.get("userprincipalname"))
    target_user = next(
        (upn(t.get("userprincipalname")) for t in targets if text(t.get("userprincipalname"))),
        "",
    )
    attributes = directory_attributes(kind, changes, result_reason=text(rec.get("resultreason")))
    attributes.update(
        actor=actor or text(lower_keys(initiated_by.get("app")).get("displayname")),
        logged_by_service=text(rec.get("loggedbyservice")),
        category=text(rec.get("category")),
        correlation_id=text(rec.get("correlationid")),
        result_reason=text(rec.get("resultreason"))[:500],
    )
    subject_user, target = target_user or actor, target_user
    if kind == Event.Kind.OAUTH_CONSENT:
        subject_user = actor or target_user
        target = next((text(t.get("displayname")) for t in targets if text(t.get("displayname"))), "")
        attributes["app_display_name"] = target
    details = {
        text(lower_keys(d).get("key")).lower(): lower_keys(d).get("value") for d in _list(rec, "additionaldetails")
    }
    result = text(rec.get("result")).lower()
    return NormalisedEvent(
        upn=subject_user,
        occurred_at=parse_time(rec.get("activitydatetime")),
        kind=kind,
        operation=operation,
        source_record_id=text(rec.get("id")),
        ip=normalise_ip(initiator.get("ipaddress")),
        user_agent=text(details.get("user-agent")),
        succeeded=True if result == "success" else False if result == "failure" else None,
        target=target,
        attributes=attributes,
    )


def _risk_detection(rec: dict[str, Any], envelope: dict[str, Any]) -> NormalisedEvent:
    """An Entra ID Protection ``riskDetection`` (Graph ``identityProtection/riskDetections``, or the
    ``UserRiskEvents`` diagnostic record): when the risky activity happened (``activityDateTime``,
    the sign-in's own time for ``activity`` signin), when Entra detected it (hours later for an
    offline detection), and the sign-in it belongs to (``requestId`` = the sign-in's ``id``)."""
    location, country, latitude, longitude = _location(rec)
    risk_type = text(pick(rec, "riskeventtype", "risktype"))
    details = _additional_info(rec.get("additionalinfo"))
    request_id = text(rec.get("requestid"))
    detected = pick(rec, "detecteddatetime")
    updated = pick(rec, "lastupdateddatetime")
    attributes = {
        "risk_event_type": risk_type,
        "risk_event_types": [risk_type] if risk_type else [],  # read like a sign-in's riskEventTypes_v2
        "risk_level": text(rec.get("risklevel")).lower(),
        "risk_state": text(rec.get("riskstate")).lower(),
        "risk_detail": text(rec.get("riskdetail")),
        "detection_timing": text(rec.get("detectiontimingtype")),
        "activity": text(rec.get("activity")).lower(),
        "request_id": request_id,
        "correlation_id": text(rec.get("correlationid")),
        "risk_source": text(rec.get("source")),
        "detected_at": parse_time(detected).isoformat() if detected else "",
        "last_updated_at": parse_time(updated).isoformat() if updated else "",
        "token_issuer_type": text(rec.get("tokenissuertype")),
        "risk_reasons": [text(reason) for reason in as_list(details.get("riskreasons")) if text(reason)][:20],
        "mitre_technique": text(rec.get("mitretechniqueid")),
        "state": text(location.get("state")),
    }
    return NormalisedEvent(
        upn=upn(rec.get("userprincipalname")),
        occurred_at=parse_time(pick(rec, "activitydatetime", "detecteddatetime") or envelope.get("time")),
        kind=Event.Kind.RISK_DETECTION,
        operation=text(envelope.get("operationname")) or "Risk detection",
        source_record_id=text(rec.get("id")),
        ip=normalise_ip(rec.get("ipaddress") or envelope.get("calleripaddress")),
        country=country,
        city=text(location.get("city")),
        latitude=latitude,
        longitude=longitude,
        user_agent=text(details.get("useragent")),
        target=risk_type,
        attributes=attributes,
        display_name=text(rec.get("userdisplayname")),
        external_id=text(rec.get("userid")),
    )


def _additional_info(value: Any) -> dict[str, Any]:
    """``additionalInfo``: a JSON string of ``[{"Key": …, "Value": …}]`` (user agent, riskReasons…);
    anything else reads as empty."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    pairs = objects(value) if isinstance(value, list) else []
    return {text(pair.get("key")).lower(): pair.get("value") for pair in pairs if text(pair.get("key"))}


def _list(rec: dict[str, Any], key: str) -> list:
    value = rec.get(key)
    return value if isinstance(value, list) else []

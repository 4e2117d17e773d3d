"""Entra ID directory activity, shared by the O365 audit log (``AzureActiveDirectory`` records) and
Entra's own audit log (Graph ``directoryAudit`` / Azure Monitor ``AuditLogs``).

Both carry the same activity names ("Update user.", "Consent to application.") and the same
modified properties, in different envelopes; this module reads the common part.
"""

import json
import re
from typing import Any

from alerts.adapters.fields import lower_keys, parse_bool, parse_int, text
from alerts.models import Event

_SECURITY_INFO = re.compile(r"^(user|admin)\s+\w+(\s+all required)?(\s+default)?\s+security info", re.IGNORECASE)
_PASSWORD_OPERATIONS = frozenset(
    {
        "change user password",
        "reset user password",
        "change password (self-service)",
        "reset password (self-service)",
        "reset password (by admin)",
        "set force change user password",
    }
)
_SCOPE = re.compile(r"Scope:\s*([^,\]]*)")
_CLIENT_ID = re.compile(r"ClientId:\s*([0-9A-Fa-f-]{8,})")


def operation_key(name: str) -> str:
    """``"Update user."`` and ``"Update user"`` are the same activity."""
    return name.strip().rstrip(".").strip().lower()


def modified_properties(items: Any) -> dict[str, tuple[Any, Any]]:
    """``{name.lower(): (old, new)}`` from either envelope's list of modified properties."""
    changes: dict[str, tuple[Any, Any]] = {}
    if not isinstance(items, list):
        return changes
    for item in items:
        item = lower_keys(item)
        name = text(item.get("name") or item.get("displayname"))
        if name:
            changes.setdefault(name.lower(), (item.get("oldvalue"), item.get("newvalue")))
    return changes


def directory_kind(operation: str, changes: dict[str, tuple[Any, Any]]) -> str:
    key = operation_key(operation)
    if key == "consent to application":
        return Event.Kind.OAUTH_CONSENT
    if key in _PASSWORD_OPERATIONS:
        return Event.Kind.PASSWORD_CHANGED
    if _SECURITY_INFO.match(key):
        return Event.Kind.MFA_METHOD_CHANGED
    if key == "update user" and _mfa_property_names(changes):
        return Event.Kind.MFA_METHOD_CHANGED
    return Event.Kind.OTHER


def directory_attributes(kind: str, changes: dict[str, tuple[Any, Any]], *, result_reason: str = "") -> dict:
    if kind == Event.Kind.OAUTH_CONSENT:
        return consent_attributes(changes)
    if kind == Event.Kind.MFA_METHOD_CHANGED:
        return mfa_attributes(changes, result_reason=result_reason)
    return {"modified_properties": sorted(changes)[:50]} if changes else {}


def consent_attributes(changes: dict[str, tuple[Any, Any]]) -> dict:
    permissions = _value_text(changes.get("consentaction.permissions", (None, None))[1])
    scopes: list[str] = []
    for group in _SCOPE.findall(permissions):
        for scope in group.split():
            if scope not in scopes:
                scopes.append(scope)
    client = _CLIENT_ID.search(permissions)
    return {
        "scopes": scopes,
        "is_admin_consent": parse_bool(_value_text(changes.get("consentcontext.isadminconsent", (None, None))[1])),
        "on_behalf_of_all": parse_bool(_value_text(changes.get("consentcontext.onbehalfofall", (None, None))[1])),
        "is_app_only": parse_bool(_value_text(changes.get("consentcontext.isapponly", (None, None))[1])),
        "client_id": client.group(1).lower() if client else "",
    }


def mfa_attributes(changes: dict[str, tuple[Any, Any]], *, result_reason: str = "") -> dict:
    attributes: dict[str, Any] = {"mfa_properties": _mfa_property_names(changes)}
    old, new = changes.get("strongauthenticationmethod", (None, None))
    if old is not None or new is not None:
        before, after = _method_types(old), _method_types(new)
        attributes.update(methods_before=before, methods_after=after, methods_removed=sorted(set(before) - set(after)))
    old, new = changes.get("strongauthenticationrequirement", (None, None))
    if old is not None or new is not None:
        attributes.update(mfa_required_before=_required(old), mfa_required_after=_required(new))
    if result_reason:
        attributes["detail"] = result_reason
    return attributes


def _mfa_property_names(changes: dict[str, tuple[Any, Any]]) -> list[str]:
    names = {name for name in changes if name.startswith("strongauthentication")}
    included = _value_text(changes.get("included updated properties", (None, None))[1])
    names.update(
        part.strip().strip('"').lower() for part in included.split(",") if "strongauthentication" in part.lower()
    )
    return sorted(names)


def _method_types(value: Any) -> list[int]:
    """``'[{"MethodType": 7, "Default": true}]'`` → ``[7]`` (Entra's StrongAuthenticationMethod)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    types = []
    for item in value:
        method = parse_int(lower_keys(item).get("methodtype"))
        if method is not None and method not in types:
            types.append(method)
    return sorted(types)


def _required(value: Any) -> bool | None:
    """Whether per-user MFA is on in a ``StrongAuthenticationRequirement`` value:
    ``'[{"RelyingParty": "*", "State": 1, …}]'`` is on, ``[]`` or ``State`` 0 is off."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            return None
    if not isinstance(value, list):
        return None
    states = [parse_int(lower_keys(item).get("state")) for item in value]
    return any(state for state in states if state is not None)


def _value_text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value)
    return text(value)

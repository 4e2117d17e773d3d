"""Entra ID remediation of what an intruder left on the account: app consents and MFA methods.

Each function reads through ``investigations.connectors.reads`` (the same reads as
``read_state``), changes what needs changing, reads back and raises ``VerificationFailed`` when the
change is not there. ``keep`` stores the undo snapshot before the change (see ``exchange``).
"""

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from urllib.parse import quote

from investigations.connectors import reads
from investigations.connectors.base import ConnectorResult, PermanentError, VerificationFailed
from investigations.connectors.state import StateItem
from m365 import permissions
from m365.client import M365Client, NotFound

CONSENT = permissions.for_action("revoke_app_consent")
MFA = permissions.for_action("remove_mfa_method")
GRANT_FIELDS = ("clientId", "consentType", "principalId", "resourceId", "scope")
ASSIGNMENT_FIELDS = ("principalId", "resourceId", "appRoleId")
# The collection under /users/{id}/authentication/ that deletes each method type.
METHOD_COLLECTIONS = {
    "microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "phoneAuthenticationMethod": "phoneMethods",
    "fido2AuthenticationMethod": "fido2Methods",
    "softwareOathAuthenticationMethod": "softwareOathMethods",
    "emailAuthenticationMethod": "emailMethods",
    "windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
    "temporaryAccessPassAuthenticationMethod": "temporaryAccessPassMethods",
    "platformCredentialAuthenticationMethod": "platformCredentialMethods",
}

Keep = Callable[[dict], dict]


# --- app consent ---------------------------------------------------------------------------------


def consented_app_ids(client: M365Client, *, client_id: str, app_name: str) -> set[str]:
    """The service principal object id(s) of the consented app: given, or found by display name."""
    if client_id:
        return {client_id.lower()}
    if not app_name:
        raise PermanentError("revoke_app_consent needs the app's client_id (service principal id) or its name.")
    params = {"$filter": f"displayName eq {reads.odata_string(app_name)}", "$select": "id,appId,displayName"}
    rows = client.graph("GET", "servicePrincipals", permission=CONSENT, params=params).json().get("value", [])
    return {row["id"].lower() for row in rows}


def _consent_items(client: M365Client, user: str, app_ids: set[str]) -> tuple[list[StateItem], list[StateItem]]:
    grants = [g for g in reads.oauth_grants(client, user) if str(g.details.get("clientId")).lower() in app_ids]
    assignments = [
        a for a in reads.app_role_assignments(client, user) if str(a.details.get("resourceId")).lower() in app_ids
    ]
    return grants, assignments


def consent_revoke(client: M365Client, user: str, *, client_id: str, app_name: str, keep: Keep) -> ConnectorResult:
    app = app_name or client_id
    try:
        app_ids = consented_app_ids(client, client_id=client_id, app_name=app_name)
        grants, assignments = _consent_items(client, user, app_ids) if app_ids else ([], [])
    except NotFound:
        return ConnectorResult(detail=f"{user} no longer exists in Entra ID.", already_done=True, undo_state=keep({}))
    snapshot = {
        "user": user,
        "grants": [{k: g.details.get(k) for k in GRANT_FIELDS} for g in grants],
        "assignments": [{k: a.details.get(k) for k in ASSIGNMENT_FIELDS} for a in assignments],
    }
    undo_state = keep(snapshot if grants or assignments else {})
    if not grants and not assignments:
        return ConnectorResult(
            detail=f"{user} has no consent to {app} any more (every grant and app role assignment read).",
            already_done=True,
            undo_state=undo_state,
            read_back={"grants": 0, "assignments": 0},
        )
    for grant in grants:
        _delete(client, f"oauth2PermissionGrants/{quote(grant.key)}")
    for assignment in assignments:
        _delete(client, f"{reads.user_path(user)}/appRoleAssignments/{quote(assignment.key)}")
    left_grants, left_assignments = _consent_items(client, user, app_ids)
    seen = {"grants_left": [g.key for g in left_grants], "assignments_left": [a.key for a in left_assignments]}
    if left_grants or left_assignments:
        raise VerificationFailed(f"Graph answered, but {user} still has consent to {app}.", seen)
    scopes = " ".join(str(g.details.get("scope") or "").strip() for g in grants).strip()
    return ConnectorResult(
        detail=f"Consent of {user} to {app} revoked ({len(grants)} delegated grant(s)"
        + (f": {scopes}" if scopes else "")
        + f", {len(assignments)} app role assignment(s)). Access tokens already issued to the app stay valid "
        "until they expire (at most about an hour); its refresh tokens no longer work.",
        data={"grants": len(grants), "assignments": len(assignments)},
        undo_state=undo_state,
        read_back=seen,
    )


def _delete(client: M365Client, path: str) -> None:
    with suppress(NotFound):  # gone already: the read-back decides
        client.graph("DELETE", path, permission=CONSENT)


def consent_restore(client: M365Client, state: dict) -> ConnectorResult:
    user, grants, assignments = state.get("user"), state.get("grants") or [], state.get("assignments") or []
    if not grants and not assignments:
        raise PermanentError("Nothing to restore: the user had no consent to the app when it was revoked.")
    app_ids = {str(g["clientId"]).lower() for g in grants} | {str(a["resourceId"]).lower() for a in assignments}
    have_grants, have_assignments = _consent_items(client, user, app_ids)
    grant_keys = {(g.details.get("clientId"), g.details.get("resourceId")) for g in have_grants}
    assignment_keys = {(a.details.get("resourceId"), a.details.get("appRoleId")) for a in have_assignments}
    for grant in grants:
        if (grant["clientId"], grant["resourceId"]) not in grant_keys:
            client.graph("POST", "oauth2PermissionGrants", permission=CONSENT, json=grant)
    for assignment in assignments:
        if (assignment["resourceId"], assignment["appRoleId"]) not in assignment_keys:
            client.graph("POST", f"{reads.user_path(user)}/appRoleAssignments", permission=CONSENT, json=assignment)
    have_grants, have_assignments = _consent_items(client, user, app_ids)
    seen = {"grants": len(have_grants), "assignments": len(have_assignments)}
    if len(have_grants) < len(grants) or len(have_assignments) < len(assignments):
        raise VerificationFailed(f"Graph answered, but {user}'s consent is not all back.", seen)
    return ConnectorResult(detail=f"Consent of {user} restored ({len(grants)} grant(s), {len(assignments)} "
                           "app role assignment(s)).", read_back=seen)  # fmt: skip


# --- MFA methods ---------------------------------------------------------------------------------


def methods_matching(
    methods: list[StateItem], *, method_id: str, method_type: str, since: datetime | None, until: datetime | None
) -> tuple[list[StateItem], list[StateItem]]:
    """(methods the action means, methods that might be meant but carry no registration time)."""
    if method_id:
        return [m for m in methods if m.key == method_id], []
    if since is None:
        return [], []
    of_type = [
        m for m in methods if not method_type or m.details.get("type", "").lower().startswith(method_type.lower())
    ]
    matching = [m for m in of_type if m.created_at and since <= m.created_at <= (until or m.created_at)]
    return matching, [m for m in of_type if m.created_at is None]


def mfa_method_remove(
    client: M365Client, user: str, *, method_id: str, method_type: str, since: datetime | None, until: datetime | None
) -> ConnectorResult:
    if not method_id and since is None:
        raise PermanentError("remove_mfa_method needs a method_id or the window (registered_after) in its parameters.")
    try:
        methods = reads.auth_methods(client, user)
    except NotFound:
        return ConnectorResult(detail=f"{user} no longer exists in Entra ID.", already_done=True)
    matching, undated = methods_matching(
        methods, method_id=method_id, method_type=method_type, since=since, until=until
    )
    if not matching:
        if undated:
            raise PermanentError(
                f"No method of {user} was registered in the window, but {len(undated)} method(s) "
                f"({', '.join(m.name for m in undated)}) carry no registration time, so absence cannot be confirmed: "
                "check the user's authentication methods in the Entra admin center and remove the intruder's by hand."
            )
        return ConnectorResult(
            detail=f"No authentication method of {user} matches (all {len(methods)} read).",
            already_done=True,
            read_back={"methods": [m.name for m in methods]},
        )
    for method in matching:
        collection = METHOD_COLLECTIONS.get(method.details.get("type", ""))
        if collection is None:
            raise PermanentError(f"Graph cannot delete a {method.details.get('type')} method; remove it by hand.")
        with suppress(NotFound):  # the read-back decides
            client.graph(
                "DELETE", f"{reads.user_path(user)}/authentication/{collection}/{quote(method.key)}", permission=MFA
            )
    after = reads.auth_methods(client, user)
    left = [m.name for m in after if m.key in {x.key for x in matching}]
    if left:
        raise VerificationFailed(f"Graph answered, but {user} still has {', '.join(left)}.", {"methods_left": left})
    return ConnectorResult(
        detail=f"Removed {', '.join(m.name for m in matching)} from {user}'s authentication methods; the user "
        "registers their own method again at next sign-in.",
        data={"methods": [{"id": m.key, "name": m.name} for m in matching]},
        read_back={"methods": [m.name for m in after]},
    )

"""Microsoft Graph v1.0, the directory side of a user: consents, app role assignments, authentication
methods and registered devices. Other paths go to ``graph``."""

import uuid

from tests.m365.fake import graph
from tests.m365.fake.server import Request, Response, error

GRANTS = {"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
GRANTS_READ = GRANTS | {"Directory.Read.All"}
ASSIGNMENTS = {"AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All"}
ASSIGNMENTS_READ = ASSIGNMENTS | {"Directory.Read.All"}
METHODS = {"UserAuthenticationMethod.ReadWrite.All"}
METHODS_READ = METHODS | {"UserAuthenticationMethod.Read.All"}
DEVICES_READ = {"Device.Read.All", "Directory.Read.All"}
# The collection under /authentication/ that holds each method type (what DELETE addresses).
METHOD_COLLECTIONS = {
    "microsoftAuthenticatorMethods": "microsoftAuthenticatorAuthenticationMethod",
    "phoneMethods": "phoneAuthenticationMethod",
    "fido2Methods": "fido2AuthenticationMethod",
    "softwareOathMethods": "softwareOathAuthenticationMethod",
    "emailMethods": "emailAuthenticationMethod",
    "windowsHelloForBusinessMethods": "windowsHelloForBusinessAuthenticationMethod",
    "temporaryAccessPassMethods": "temporaryAccessPassAuthenticationMethod",
}


def handle(fake, request: Request, roles: set[str]) -> Response:
    path = request.path.removeprefix("/v1.0/")
    parts = path.split("/")
    if parts[0] == "oauth2PermissionGrants":
        return _grants(fake, request, roles, parts[1] if len(parts) > 1 else "")
    if parts == ["servicePrincipals"] and request.method == "GET":
        if not roles & (GRANTS_READ | {"Application.Read.All"}):
            return error(403, *graph.DENIED)
        try:
            rows = [sp for sp in fake.service_principals if graph.matches(sp, request.query.get("$filter", ""))]
        except ValueError as exc:
            return error(400, "BadRequest", f"Invalid filter clause: {exc}")
        return Response(200, {"value": rows})
    if parts[0] != "users" or len(parts) < 3 or parts[2] not in (
        "oauth2PermissionGrants", "appRoleAssignments", "authentication", "registeredDevices"
    ):  # fmt: skip
        return graph.handle(fake, request, roles)
    user = fake.user(parts[1])
    if user is None:
        return graph.not_found(parts[1])
    if parts[2] == "oauth2PermissionGrants" and request.method == "GET":
        if not roles & GRANTS_READ:
            return error(403, *graph.DENIED)
        return Response(200, {"value": [g for g in fake.oauth2_grants if g["principalId"] == user["id"]]})
    if parts[2] == "appRoleAssignments":
        return _assignments(fake, request, roles, user, parts[3] if len(parts) > 3 else "")
    if parts[2] == "registeredDevices" and request.method == "GET":
        if not roles & DEVICES_READ:
            return error(403, *graph.DENIED)
        return Response(200, {"value": fake.registered_devices.get(user["id"], [])})
    if parts[2] == "authentication":
        return _methods(fake, request, roles, user, parts[3:])
    return error(405, "Request_BadRequest", "Unsupported method.")


def _grants(fake, request, roles, grant_id) -> Response:
    if not roles & (GRANTS if request.method != "GET" else GRANTS_READ):
        return error(403, *graph.DENIED)
    if request.method == "GET" and not grant_id:
        try:
            rows = [g for g in fake.oauth2_grants if graph.matches(g, request.query.get("$filter", ""))]
        except ValueError as exc:
            return error(400, "BadRequest", f"Invalid filter clause: {exc}")
        return Response(200, {"value": rows})
    if request.method == "POST" and not grant_id:
        body = request.json()
        if any(
            g["clientId"] == body.get("clientId") and g["principalId"] == body.get("principalId")
            and g["resourceId"] == body.get("resourceId") for g in fake.oauth2_grants
        ):  # fmt: skip
            return error(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        if fake.ignores("graph", "POST oauth2PermissionGrants"):
            return Response(201, {"id": uuid.uuid4().hex, **body})
        grant = {"id": uuid.uuid4().hex, **body}
        fake.oauth2_grants.append(grant)
        return Response(201, grant)
    grant = next((g for g in fake.oauth2_grants if g["id"] == grant_id), None)
    if grant is None:
        return graph.not_found(grant_id)
    if request.method == "DELETE":
        if not fake.ignores("graph", "DELETE oauth2PermissionGrants"):
            fake.oauth2_grants.remove(grant)
        return Response(204)
    return Response(200, grant)


def _assignments(fake, request, roles, user, assignment_id) -> Response:
    if not roles & (ASSIGNMENTS if request.method != "GET" else ASSIGNMENTS_READ):
        return error(403, *graph.DENIED)
    mine = [a for a in fake.app_role_assignments if a["principalId"] == user["id"]]
    if request.method == "GET":
        return Response(200, {"value": mine})
    if request.method == "POST":
        body = request.json()
        if body.get("principalId") != user["id"]:
            return error(400, "Request_BadRequest", "principalId must be the user of the request path.")
        assignment = {"id": uuid.uuid4().hex, "principalType": "User", **body}
        if not fake.ignores("graph", "POST appRoleAssignments"):
            fake.app_role_assignments.append(assignment)
        return Response(201, assignment)
    assignment = next((a for a in mine if a["id"] == assignment_id), None)
    if assignment is None:
        return graph.not_found(assignment_id)
    if request.method == "DELETE":
        if not fake.ignores("graph", "DELETE appRoleAssignments"):
            fake.app_role_assignments.remove(assignment)
        return Response(204)
    return error(405, "Request_BadRequest", "Unsupported method.")


def _methods(fake, request, roles, user, rest) -> Response:
    if not roles & (METHODS if request.method != "GET" else METHODS_READ):
        return error(403, *graph.DENIED)
    methods = fake.auth_methods.setdefault(user["id"], [])
    if rest == ["methods"] and request.method == "GET":
        password = {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                    "id": "28c10230-6103-485e-b985-444c60001490"}  # fmt: skip
        return Response(200, {"value": [password, *methods]})
    if len(rest) != 2 or rest[0] not in METHOD_COLLECTIONS:
        return error(400, "BadRequest", f"Resource not found for the segment '{'/'.join(rest)}'.")
    odata_type = f"#microsoft.graph.{METHOD_COLLECTIONS[rest[0]]}"
    method = next((m for m in methods if m["id"] == rest[1] and m["@odata.type"] == odata_type), None)
    if method is None:
        return error(404, "itemNotFound", "The requested authentication method was not found.")
    if request.method == "DELETE":
        if not fake.ignores("graph", f"DELETE {rest[0]}"):
            methods.remove(method)
        return Response(204)
    return Response(200, method)

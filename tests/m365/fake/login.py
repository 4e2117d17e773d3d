"""The Microsoft identity platform: OpenID configuration and the v2.0 token endpoint (client credentials)."""

import re
import time

import jwt
from cryptography import x509

from tests.m365.fake.server import Request, Response, make_token


def _aad_error(status: int, error: str, description: str) -> Response:
    code = int(re.match(r"AADSTS(\d+)", description).group(1))
    return Response(status, {"error": error, "error_description": description, "error_codes": [code]})


def handle(fake, request: Request) -> Response:
    base = fake.url("login")
    parts = request.path.strip("/").split("/")
    tenant = parts[0] if parts else ""
    if tenant != fake.tenant_id:
        return _aad_error(
            400,
            "invalid_tenant",
            f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
        )
    if request.method == "GET" and request.path.endswith("/v2.0/.well-known/openid-configuration"):
        return Response(
            200,
            {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{base}/{tenant}/v2.0",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
            },
        )
    if request.method == "POST" and request.path.endswith("/oauth2/v2.0/token"):
        return _token(fake, request, f"{base}/{tenant}/oauth2/v2.0/token")
    return Response(404, {"error": "not_found"})


def _token(fake, request: Request, token_endpoint: str) -> Response:
    form = request.form()
    fake.token_requests.append({"scope": form.get("scope"), "client_id": form.get("client_id")})
    if form.get("grant_type") != "client_credentials":
        return _aad_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
    if form.get("client_id") != fake.client_id:
        return _aad_error(
            400,
            "unauthorized_client",
            f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found in the directory.",
        )
    if "client_assertion" in form:
        if not fake.certificate_pem:
            return _aad_error(401, "invalid_client", "AADSTS700027: Client assertion contains an invalid signature.")
        public_key = x509.load_pem_x509_certificate(fake.certificate_pem.encode()).public_key()
        try:
            jwt.decode(
                form["client_assertion"],
                public_key,
                algorithms=["PS256", "RS256"],
                audience=token_endpoint,
                issuer=fake.client_id,
            )
        except jwt.PyJWTError as exc:
            return _aad_error(401, "invalid_client", f"AADSTS700027: Client assertion is invalid: {exc}.")
    elif form.get("client_secret") != fake.client_secret:
        return _aad_error(
            401,
            "invalid_client",
            f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app '{fake.client_id}'.",
        )
    scope = form.get("scope", "")
    resource = scope.removesuffix("/.default")
    service = next((s for s in ("graph", "manage", "exchange") if fake.url(s) == resource), None)
    if service is None:
        return _aad_error(
            400, "invalid_resource", f"AADSTS500011: The resource principal named {resource} was not found."
        )
    expires_in = 3599
    token = make_token(
        {
            "aud": resource,
            "tid": fake.tenant_id,
            "appid": fake.client_id,
            "roles": sorted(fake.roles[service]),
            "exp": int(time.time()) + expires_in,
        }
    )
    return Response(
        200, {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}
    )

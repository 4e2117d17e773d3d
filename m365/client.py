"""HTTPS to Microsoft 365 with app-only tokens.

* TLS is always verified, against ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` when set (the
  environment's CA bundle), else certifi's. There is no switch to turn verification off.
* Tokens come from MSAL's client-credentials flow against ``M365_LOGIN_URL``. Authority validation
  and instance discovery are off: they ask Microsoft whether the login host is one of its own, which
  would refuse a national cloud proxy or the local server of the tests. MSAL's token cache keeps
  each token until it expires; one MSAL app per configuration lives as long as the process.
* Errors become ``M365Error`` subclasses that say what to do: retry later (``Throttled``,
  ``Unavailable``), grant a permission (``AccessDenied``), nothing (``NotFound``).
* The bearer token is only ever sent to the configured hosts: paging links and content URIs that
  point elsewhere are refused.
"""

import base64
import email.utils
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings

from m365 import exchange_anchor
from m365.config import M365Config
from m365.endpoints import graph_base, graph_beta_base, management_base
from m365.throttling import Patience

logger = logging.getLogger(__name__)

TIMEOUT = (10, 60)  # connect, read (seconds)
USER_AGENT = "AIRPortal/1.0 (+self-hosted)"
# Microsoft's multi-tenant app behind Graph message trace; each tenant needs its service principal.
MESSAGE_TRACE_APP_ID = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373"


class M365Error(Exception):
    """A call to Microsoft 365 failed; ``str()`` is a sentence for an admin."""

    def __init__(self, message: str, *, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class Throttled(M365Error):
    """429 or AF429: come back after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(M365Error):
    """5xx or a network failure: transient."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AccessDenied(M365Error):
    """401/403: the app registration lacks ``permission`` (or the credential is wrong)."""

    def __init__(self, message: str, *, permission: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.permission = permission


class NotFound(M365Error):
    """404: the object is not there (for a removal, that means the work is already done)."""


class ContentExpired(M365Error):
    """AF20051: a Management Activity API content blob is past its expiry."""


class AuthenticationFailed(M365Error):
    """The login endpoint refused the app's credential, tenant or client id."""


def ca_bundle() -> str | bool:
    """The CA bundle TLS is verified against: the environment's, else certifi's (``True``)."""
    return (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("SSL_CERT_FILE")
        or os.environ.get("CURL_CA_BUNDLE")
        or True
    )


class VerifiedSession(requests.Session):
    """A session whose every request (ours and MSAL's) verifies TLS against ``ca_bundle()``.

    Plain requests lets ``CURL_CA_BUNDLE`` override the session's bundle and any caller pass
    ``verify=False``; here neither can happen. Proxies from the environment still apply.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["verify"] = ca_bundle()
        return merged


def http_session() -> requests.Session:
    session = VerifiedSession()
    session.headers["User-Agent"] = USER_AGENT
    return session


def scope_for(base_url: str) -> str:
    """The ``.default`` scope of the resource a base URL belongs to (https://graph.microsoft.com/.default)."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_of(response: requests.Response) -> tuple[str, str]:
    """(code, message) from Graph, Management API and Exchange admin API error bodies."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
        details = error.get("details") or []
        detail_messages = [str(d.get("message", "")) for d in details if isinstance(d, dict)]
        return code, " ".join(filter(None, [message, *detail_messages]))
    if isinstance(error, str):
        return error, str(body.get("error_description", ""))
    return "", str(body)[:300]


_apps: dict[tuple, msal.ConfidentialClientApplication] = {}
_initial_domains: dict[str, str] = {}  # tenant id -> its initial domain (M365Client.organization)
_apps_lock = threading.Lock()


def _msal_app(config: M365Config, session: requests.Session) -> msal.ConfidentialClientApplication:
    key = (settings.M365_LOGIN_URL, config.tenant_id, config.client_id, config.credential_fingerprint())
    with _apps_lock:
        app = _apps.get(key)
        if app is not None:
            return app
        if config.certificate:
            credential: Any = {
                "private_key": config.certificate.private_key_pem,
                "public_certificate": config.certificate.certificate_pem,
            }
        else:
            credential = config.client_secret
        try:
            app = msal.ConfidentialClientApplication(
                config.client_id,
                client_credential=credential,
                authority=f"{settings.M365_LOGIN_URL}/{config.tenant_id}",
                validate_authority=False,
                instance_discovery=False,
                http_client=session,
                token_cache=msal.TokenCache(),
            )
        except ValueError as exc:  # OIDC discovery refused: unknown tenant, wrong login URL
            raise AuthenticationFailed(f"The login endpoint does not know tenant {config.tenant_id!r}: {exc}") from None
        except requests.RequestException as exc:
            raise Unavailable(f"The login endpoint cannot be reached: {type(exc).__name__}.") from None
        _apps[key] = app
        return app


def forget_tokens() -> None:
    """Drop every cached MSAL app and token, and what was read with them (after the credential
    changes, before a connection test, and between tests)."""
    with _apps_lock:
        _apps.clear()
        _initial_domains.clear()


class M365Client:
    """One configured tenant: tokens per resource, requests with error mapping, Graph paging."""

    def __init__(
        self, config: M365Config, *, session: requests.Session | None = None, patience: Patience | None = None
    ):
        self.config = config
        self.session = session or http_session()
        # With patience, throttled requests are sent again after the wait; without, Throttled is raised.
        self.patience = patience

    # --- tokens --------------------------------------------------------------------------------

    def token(self, scope: str) -> str:
        app = _msal_app(self.config, self.session)
        try:
            result = app.acquire_token_for_client(scopes=[scope])
        except requests.RequestException as exc:
            raise Unavailable(f"The login endpoint cannot be reached: {type(exc).__name__}.") from None
        if "access_token" in result:
            return result["access_token"]
        error = result.get("error", "error")
        description = (result.get("error_description") or "").split("\r\n")[0]
        if error in ("temporarily_unavailable", "server_error"):
            raise Unavailable(f"The login endpoint is unavailable ({error}).")
        raise AuthenticationFailed(f"Sign-in of the app registration failed ({error}): {description}", code=error)

    def granted_roles(self, scope: str) -> set[str]:
        """The application permissions in the access token (its ``roles`` claim), as Entra granted them."""
        payload = self.token(scope).split(".")[1]
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return set()
        return set(claims.get("roles") or [])

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        base_url: str,
        permission: str = "",
        params: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
    ) -> requests.Response:
        """Send one request to ``url``, which must be under ``base_url``'s host; raise on failure."""
        if not _same_origin(url, base_url):
            raise M365Error(f"Refusing to send the token to {urlsplit(url).netloc}: not the configured service.")
        scope = scope_for(base_url)
        token_refreshed, refusals = False, 0
        while True:
            all_headers = {"Authorization": f"Bearer {self.token(scope)}", **(headers or {})}
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=all_headers, timeout=TIMEOUT
                )
            except requests.exceptions.SSLError:
                raise Unavailable(
                    f"TLS verification of {urlsplit(url).netloc} failed: its certificate is not trusted by the "
                    "CA bundle (REQUESTS_CA_BUNDLE / SSL_CERT_FILE)."
                ) from None
            except requests.RequestException as exc:
                raise Unavailable(f"{urlsplit(url).netloc} cannot be reached: {type(exc).__name__}.") from None
            logger.debug("%s %s -> %s", method, urlsplit(url).path, response.status_code)
            if response.status_code == 401 and not token_refreshed:
                # A token revoked or expired early: fetch a fresh one once before giving up.
                _msal_app(self.config, self.session).remove_tokens_for_client()
                token_refreshed = True
                continue
            if response.status_code < 400:
                return response
            error = _error_for(response, permission)
            if self._wait_out(error, refusals + 1):
                refusals += 1
                continue
            raise error

    def _wait_out(self, error: M365Error, refusals: int) -> bool:
        """Whether ``error`` is throttling (429, AF429, 503 with Retry-After) this client waited out."""
        if self.patience is None:
            return False
        if isinstance(error, Throttled) or (isinstance(error, Unavailable) and error.retry_after is not None):
            return self.patience.wait(error.retry_after, refusals=refusals)
        return False

    def get_json(self, url: str, *, base_url: str, permission: str = "", params: dict | None = None) -> Any:
        response = self.request("GET", url, base_url=base_url, permission=permission, params=params)
        return response.json()

    def invoke_cmdlet(self, cmdlet: str, *, anchor: str | None, permission: str, **parameters) -> list[dict]:
        """Run an Exchange Online cmdlet through the admin API's InvokeCommand (what the Exchange Online
        PowerShell module v3 does); its output objects. ``anchor`` is the UPN of the mailbox the cmdlet
        is about, None for an organisation-level cmdlet (``m365.exchange_anchor`` routes the call)."""
        url = f"{settings.M365_EXCHANGE_URL}/adminapi/beta/{self.config.tenant_id}/InvokeCommand"
        headers = exchange_anchor.cmdlet_headers(cmdlet, mailbox=anchor, organization=self.organization)
        response = self.request(
            "POST",
            url,
            base_url=settings.M365_EXCHANGE_URL,
            permission=permission,
            json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}},
            headers=headers,
        )
        return list((response.json() or {}).get("value") or [])

    def organization(self) -> str:
        """The tenant's initial ``….onmicrosoft.com`` domain: ``M365_ORGANIZATION``, else Graph's."""
        if settings.M365_ORGANIZATION:
            return settings.M365_ORGANIZATION
        tenant = self.config.tenant_id
        with _apps_lock:
            if tenant in _initial_domains:
                return _initial_domains[tenant]
        body = self.graph("GET", "domains", permission=exchange_anchor.READ_DOMAINS, params={"$select": "id,isInitial"})
        domain = exchange_anchor.initial_domain_of(body.json().get("value") or [])
        if not domain:
            raise M365Error("Graph lists no initial domain for the tenant: set M365_ORGANIZATION to it.")
        with _apps_lock:
            _initial_domains[tenant] = domain
        return domain

    def graph_url(self, path: str, *, beta: bool = False) -> str:
        """The URL of ``path`` on Graph v1.0, or on Graph beta (what some filters need)."""
        return f"{graph_beta_base() if beta else graph_base()}/{path.lstrip('/')}"

    def graph(self, method: str, path: str, *, permission: str, **kwargs) -> requests.Response:
        """One Microsoft Graph call; ``path`` is relative to the Graph base URL (``users/{id}``)."""
        return self.request(method, self.graph_url(path), base_url=graph_base(), permission=permission, **kwargs)

    def management_url(self, operation: str) -> str:
        """A Management Activity API URL of this tenant (``subscriptions/list``, ``subscriptions/content``)."""
        return f"{management_base()}/{self.config.tenant_id}/activity/feed/{operation}"

    def graph_page(self, url: str, *, params: dict | None, permission: str) -> tuple[list[dict], str | None]:
        """One page of a Graph collection at ``url`` (a collection's URL or a saved ``@odata.nextLink``)
        and the link to the next page, None on the last."""
        body = self.get_json(url, base_url=graph_base(), permission=permission, params=params)
        return list(body.get("value") or []), body.get("@odata.nextLink")

    def graph_pages(self, path: str, *, params: dict, permission: str) -> Iterator[list[dict]]:
        """Each page of a Graph collection, following ``@odata.nextLink`` to the end."""
        url: str | None = self.graph_url(path)
        page_params: dict | None = params
        while url:
            page, url = self.graph_page(url, params=page_params, permission=permission)
            page_params = None
            yield page


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _error_for(response: requests.Response, permission: str) -> M365Error:
    status = response.status_code
    code, message = _error_of(response)
    where = urlsplit(response.url).netloc
    if status == 429 or code == "AF429":
        seconds = retry_after_seconds(response)
        return Throttled(
            f"{where} is throttling requests ({code or status}); retry after {seconds or 'a while'} s.",
            retry_after=seconds,
            status=status,
            code=code,
        )
    if code == "AF20051":
        return ContentExpired(f"Content expired before it was fetched: {message}", status=status, code=code)
    if status == 401 and MESSAGE_TRACE_APP_ID in message:
        return AccessDenied(
            f"{where} refused message trace: the tenant has no service principal for Microsoft's message trace app. "
            f"Create the service principal for the message trace app once (New-MgServicePrincipal -AppId "
            f"{MESSAGE_TRACE_APP_ID}, or POST /servicePrincipals with that appId); provisioning can take hours.",
            permission=permission,
            status=status,
            code=code,
        )
    if status in (401, 403):
        need = f" Grant the application permission {permission} and admin consent." if permission else ""
        return AccessDenied(
            f"{where} refused the request ({status} {code}): {message}.{need}".replace("..", "."),
            permission=permission,
            status=status,
            code=code,
        )
    if status == 404 or "ManagementObjectNotFoundException" in message:
        return NotFound(f"Not found on {where}: {message}", status=status, code=code)
    if status >= 500:
        return Unavailable(
            f"{where} answered {status} {code}: {message}", retry_after=retry_after_seconds(response), status=status
        )
    return M365Error(f"{where} refused the request ({status} {code}): {message}", status=status, code=code)

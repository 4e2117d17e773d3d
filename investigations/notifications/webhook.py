"""Outgoing webhooks: URL checks against server-side request forgery, and a pinned HTTPS POST.

A webhook URL is an admin's input, but the host name it names is resolved by DNS, which an
attacker may control. So the URL is checked when the rule is saved *and* at each send, and the
connection goes to the very address that was checked (no second lookup that could answer
127.0.0.1 or 169.254.169.254). Redirects are not followed.
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from airportal.errors import DomainError

TIMEOUT_SECONDS = 10
USER_AGENT = "AIR-Portal-Notifications/1"
MAX_ERROR_BODY = 500


class WebhookURLRefused(DomainError):
    """The URL may not be used (scheme, credentials, address)."""


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def webhook_url_check(url: str, *, allow_private: bool) -> list[str]:
    """The addresses ``url`` may be sent to; ``WebhookURLRefused`` with the reason otherwise.

    https only, no credentials in the URL, and every address the host resolves to must be
    public, unless the rule allows private addresses (then plain http is accepted too, but
    only towards non-public addresses: a lab receiver, never the internet in clear text).
    """
    parts = urlsplit(url.strip())
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_private):
        raise WebhookURLRefused("A webhook URL must start with https://.")
    if parts.username or parts.password:
        raise WebhookURLRefused("Put credentials in a secret header, not in the URL.")
    if not parts.hostname:
        raise WebhookURLRefused("The webhook URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookURLRefused("The webhook URL has an invalid port.")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookURLRefused(f"The host {parts.hostname!r} does not resolve.")
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    parsed = [ipaddress.ip_address(address.split("%")[0]) for address in addresses]
    private = [str(address) for address in parsed if not _public(address)]
    if private and not allow_private:
        raise WebhookURLRefused(
            f"{parts.hostname} resolves to a loopback, private or link-local address ({', '.join(private)}); "
            "an admin must allow private addresses on this rule to use it."
        )
    if parts.scheme == "http" and (not allow_private or len(private) != len(parsed)):
        raise WebhookURLRefused("A webhook URL must start with https:// (plain http only to an allowed private host).")
    return addresses


def url_masked(url: str) -> str:
    """Scheme and host only: Slack and Teams webhook URLs carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed IP address, with the certificate still checked against the host name."""

    def __init__(self, host: str, port: int, address: str, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    retry_after: int | None


def webhook_post(url: str, *, body: bytes, headers: dict[str, str], allow_private: bool) -> WebhookResponse:
    """POST ``body`` (JSON) to ``url``; raises ``WebhookURLRefused`` or ``OSError`` (network)."""
    parts = urlsplit(url.strip())
    address = webhook_url_check(url, allow_private=allow_private)[0]
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    connection_class = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, address, timeout=TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        text = response.read(MAX_ERROR_BODY + 1).decode("utf-8", "replace")[:MAX_ERROR_BODY]
        retry_after = response.getheader("Retry-After")
        return WebhookResponse(
            status=response.status,
            body=text,
            retry_after=int(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    except http.client.HTTPException as error:
        raise OSError(f"Bad HTTP answer: {error}") from error
    finally:
        connection.close()

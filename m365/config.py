"""The effective Microsoft 365 configuration: environment first, then the Connectors page.

This is the only place that decrypts the stored credential. ``M365Config`` keeps the secret and
the private key out of its ``repr`` so a logged or rendered config never shows them.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.conf import settings

from m365 import crypto
from m365.models import M365Connection, M365Feed

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ConfigError(Exception):
    """The configuration cannot be used as it is (a bad certificate file, an unreadable secret)."""


@dataclass(frozen=True)
class Certificate:
    private_key_pem: str = field(repr=False)
    certificate_pem: str
    thumbprint_sha1: str
    not_after: datetime | None = None  # when Entra stops accepting it


@dataclass(frozen=True)
class M365Config:
    tenant_id: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    certificate: Certificate | None = field(default=None, repr=False)
    feeds: frozenset[str] = frozenset()

    @property
    def credential_kind(self) -> str:
        return "certificate" if self.certificate else "secret"

    def credential_fingerprint(self) -> str:
        """A digest that changes when the credential does (to key token caches), never the credential."""
        material = self.certificate.private_key_pem if self.certificate else self.client_secret
        return hashlib.sha256(material.encode()).hexdigest()[:16]


def connection_get() -> M365Connection:
    connection, _ = M365Connection.objects.get_or_create(pk=1, defaults={"feeds": list(M365Feed.values)})
    return connection


def environment_values() -> dict[str, str]:
    """The M365_* settings that are set, as the page may show them (the secret only as 'set')."""
    shown = {}
    if settings.M365_TENANT_ID:
        shown["M365_TENANT_ID"] = settings.M365_TENANT_ID
    if settings.M365_CLIENT_ID:
        shown["M365_CLIENT_ID"] = settings.M365_CLIENT_ID
    if settings.M365_CLIENT_SECRET:
        shown["M365_CLIENT_SECRET"] = "set (hidden)"  # noqa: S105 - a label, not a secret
    if settings.M365_CERTIFICATE_PATH:
        shown["M365_CERTIFICATE_PATH"] = settings.M365_CERTIFICATE_PATH
    return shown


def certificate_parse(pem: str) -> Certificate:
    """A PEM holding an unencrypted private key and its certificate, or ConfigError saying what is wrong."""
    data = pem.encode()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"The PEM must contain an unencrypted private key ({exc}).") from None
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigError("The PEM must also contain the certificate uploaded to the app registration.") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ConfigError("The private key does not belong to the certificate in the PEM.")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Certificate(
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        # Entra shows a certificate by its SHA-1 thumbprint: an identifier here, not a security hash.
        thumbprint_sha1=cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303
        not_after=cert.not_valid_after_utc,
    )


def _environment_certificate() -> Certificate | None:
    if not settings.M365_CERTIFICATE_PATH:
        return None
    path = Path(settings.M365_CERTIFICATE_PATH)
    try:
        return certificate_parse(path.read_text())
    except OSError as exc:
        raise ConfigError(f"M365_CERTIFICATE_PATH cannot be read: {exc.strerror}.") from None


def config_get(*, connection: M365Connection | None = None) -> M365Config | None:
    """The configuration to use, or None when no tenant is configured.

    Each value comes from its ``M365_*`` setting when set, else from the stored connection.
    Raises ConfigError when a credential is configured but unusable (unreadable with today's key too).
    """
    connection = connection or connection_get()
    tenant_id = settings.M365_TENANT_ID or connection.tenant_id
    client_id = settings.M365_CLIENT_ID or connection.client_id
    secret, certificate = settings.M365_CLIENT_SECRET, _environment_certificate()
    if not secret and certificate is None and connection.credential_encrypted:
        try:
            plaintext = crypto.decrypt(connection.credential_encrypted)
        except crypto.CredentialUnreadable as exc:
            raise ConfigError(str(exc)) from None
        if connection.credential_kind == M365Connection.CredentialKind.CERTIFICATE:
            certificate = certificate_parse(plaintext)
        else:
            secret = plaintext
    if not (tenant_id and client_id and (secret or certificate)):
        return None
    feeds = frozenset(feed for feed in connection.feeds if feed in M365Feed.values)
    return M365Config(
        tenant_id=tenant_id, client_id=client_id, client_secret=secret, certificate=certificate, feeds=feeds
    )


def remediation_connector_name(*, connection: M365Connection | None = None) -> str:
    """Which connector remediation uses: REMEDIATION_CONNECTOR when set, else msgraph when a tenant
    is configured and simulated otherwise."""
    return settings.REMEDIATION_CONNECTOR or ("msgraph" if is_configured(connection=connection) else "simulated")


def is_configured(*, connection: M365Connection | None = None) -> bool:
    """True when a tenant, an app and a credential are configured (usable or not). Reads only."""
    connection = connection or M365Connection.objects.filter(pk=1).first() or M365Connection()
    return bool(
        (settings.M365_TENANT_ID or connection.tenant_id)
        and (settings.M365_CLIENT_ID or connection.client_id)
        and (settings.M365_CLIENT_SECRET or settings.M365_CERTIFICATE_PATH or connection.credential_encrypted)
    )

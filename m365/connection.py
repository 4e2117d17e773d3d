"""Changing the Microsoft 365 connection (the Connectors page calls this).

The credential is encrypted before it is stored and never returned; the audit row records that
it was replaced or removed, never its value.
"""

from django.db import transaction

from airportal.audit import audit_record
from airportal.errors import DomainError
from airportal.services import portal_settings_get, portal_settings_update
from m365 import crypto
from m365.client import forget_tokens
from m365.config import GUID_RE, ConfigError, certificate_parse, connection_get
from m365.models import M365Connection, M365Feed

MAX_SECRET_LENGTH = 512


@transaction.atomic
def m365_connection_update(
    *,
    actor,
    tenant_id: str | None,
    client_id: str | None,
    feeds: list[str],
    accepted_domains: list[str],
    client_secret: str = "",
    certificate_pem: str = "",
    remove_credential: bool = False,
) -> M365Connection:
    """Save the connection. ``tenant_id`` / ``client_id`` None leave the stored value (the
    environment provides it); an empty secret and certificate keep the stored credential."""
    connection = connection_get()
    connection = M365Connection.objects.select_for_update().get(pk=connection.pk)
    changes: dict = {}
    for field, value in (("tenant_id", tenant_id), ("client_id", client_id)):
        if value is None:
            continue
        value = value.strip().lower()
        if value and not GUID_RE.match(value):
            label = "Tenant id" if field == "tenant_id" else "Client (application) id"
            raise DomainError(f"{label} must be a GUID such as 6f3c2a1e-9b8d-4e7f-a1b2-c3d4e5f60718.")
        if value != getattr(connection, field):
            changes[field] = {"before": getattr(connection, field), "after": value}
            setattr(connection, field, value)
    unknown = sorted(set(feeds) - set(M365Feed.values))
    if unknown:
        raise DomainError(f"Unknown feed(s): {', '.join(unknown)}.")
    ordered = [feed for feed in M365Feed.values if feed in feeds]
    if ordered != connection.feeds:
        changes["feeds"] = {"before": connection.feeds, "after": ordered}
        connection.feeds = ordered
    credential_change = _credential_apply(connection, client_secret, certificate_pem, remove_credential)
    if credential_change:
        changes["credential"] = credential_change
    if changes:
        connection.updated_by = actor
        connection.save()
        audit_record(actor=actor, verb="m365.connection_changed", target=connection, changes=changes)
    if accepted_domains != list(portal_settings_get().accepted_domains):
        portal_settings_update(actor=actor, accepted_domains=accepted_domains)
    if {"tenant_id", "client_id", "credential"} & set(changes):
        transaction.on_commit(forget_tokens)
    return connection


def _credential_apply(connection: M365Connection, secret: str, certificate_pem: str, remove: bool) -> str:
    """Encrypt and store a new secret or certificate; what happened, in words for the audit log."""
    secret, certificate_pem = (secret or "").strip(), (certificate_pem or "").strip()
    if secret and certificate_pem:
        raise DomainError("Give either a client secret or a certificate, not both.")
    if secret:
        if len(secret) > MAX_SECRET_LENGTH or any(c.isspace() for c in secret):
            raise DomainError("That does not look like a client secret (no spaces, at most 512 characters).")
        connection.credential_kind = M365Connection.CredentialKind.SECRET
        connection.credential_encrypted = crypto.encrypt(secret)
        connection.credential_hint = "client secret"
        return "client secret replaced"
    if certificate_pem:
        try:
            certificate = certificate_parse(certificate_pem)
        except ConfigError as exc:
            raise DomainError(str(exc)) from None
        connection.credential_kind = M365Connection.CredentialKind.CERTIFICATE
        connection.credential_encrypted = crypto.encrypt(certificate.private_key_pem + certificate.certificate_pem)
        connection.credential_hint = f"certificate, SHA-1 thumbprint {certificate.thumbprint_sha1.upper()}"
        return f"certificate replaced ({connection.credential_hint})"
    if remove and connection.credential_encrypted:
        connection.credential_kind = M365Connection.CredentialKind.NONE
        connection.credential_encrypted = ""
        connection.credential_hint = ""
        return "credential removed"
    return ""

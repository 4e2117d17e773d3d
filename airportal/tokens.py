"""API tokens: created once and shown once; only their SHA-256 is stored."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from airportal.audit import audit_record
from airportal.errors import Conflict
from airportal.models import ApiToken

TOKEN_PREFIX = "air_"  # noqa: S105 - a marker, not a secret
# last_used_at is written at most this often, so a busy ingest client costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A token's use is audited at most this often: the audit log shows which tokens are alive and from
# where, without one row per ingest request.
USE_AUDIT_INTERVAL = timedelta(hours=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, name: str = "", created_by=None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], key_hash=_hash(raw), created_by=created_by)
    audit_record(actor=created_by, verb="token.created", target=token, summary=f"API token for {user}")
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> ApiToken:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) != 1:
        raise Conflict("This token is already revoked.")
    token.refresh_from_db()
    audit_record(actor=actor, verb="token.revoked", target=token)
    return token


def api_token_authenticate(raw: str, *, ip: str | None = None) -> ApiToken | None:
    """The active token whose secret is ``raw``, with its user; None if unknown or revoked."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        _audit_use(token=token, now=now, ip=ip)
    return token


@transaction.atomic
def _audit_use(*, token: ApiToken, now, ip: str | None) -> None:
    """One ``token.used`` row per token per USE_AUDIT_INTERVAL; the conditional UPDATE lets one process win."""
    due = Q(last_audited_at__isnull=True) | Q(last_audited_at__lte=now - USE_AUDIT_INTERVAL)
    if ApiToken.objects.filter(due, pk=token.pk).update(last_audited_at=now) == 1:
        audit_record(
            actor=token.user, verb="token.used", target=token, summary=f"API token {token.prefix}… used", ip=ip
        )

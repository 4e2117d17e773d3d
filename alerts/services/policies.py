"""Alert policies and their suppressions: every change versioned and audited.

``policy_update`` is optimistic: it saves only if the policy is still at the version the admin
edited (one conditional UPDATE), so two admins saving at once cannot silently overwrite each
other; the loser gets a clear conflict. Each saved version keeps a full snapshot plus the
before/after of every field that changed.
"""

import ipaddress
import re
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from airportal.audit import audit_record
from airportal.errors import Conflict, DomainError
from alerts.detectors.registry import DETECTORS, effective_parameters
from alerts.models import AlertPolicy, AlertPolicyVersion, AlertSuppression, AutomationLevel, Severity

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_SUPPRESSION_DAYS = 366


def policy_defaults_ensure(*, policy_model=AlertPolicy, version_model=AlertPolicyVersion) -> int:
    """Create the default policy of every detector that has none (existing ones are left alone).

    Takes the model classes so the data migration can pass its historical models. Returns how
    many policies were created.
    """
    created = 0
    now = timezone.now()
    for key, detector in DETECTORS.items():
        if policy_model.objects.filter(detector=key).exists():
            continue
        policy = policy_model.objects.create(
            detector=key,
            name=detector.name,
            description=detector.description,
            enabled=True,
            severity=detector.severity,
            automation_level=AutomationLevel.MANUAL,
            parameters=detector.schema.defaults(),
            version=1,
        )
        version_model.objects.create(
            policy=policy,
            version=1,
            enabled=True,
            severity=policy.severity,
            automation_level=policy.automation_level,
            parameters=policy.parameters,
            comment="Default policy",
            changed_at=now,
        )
        created += 1
    return created


def _snapshot(policy: AlertPolicy) -> dict[str, Any]:
    return {
        "enabled": policy.enabled,
        "severity": policy.severity,
        "automation_level": policy.automation_level,
        "parameters": policy.parameters,
    }


def policy_parameters_clean(*, policy: AlertPolicy, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` merged over the policy's current ones and validated; ``DomainError`` lists every problem."""
    detector = DETECTORS.get(policy.detector)
    if detector is None:
        raise DomainError(f"No detector is called {policy.detector!r}.")
    if not isinstance(parameters, dict):
        raise DomainError("Parameters must be an object of name: value.")
    current = effective_parameters(detector, policy.parameters)
    try:
        return detector.schema.clean({**current, **parameters})
    except ValidationError as error:
        raise DomainError(" ".join(error.messages))


@transaction.atomic
def policy_update(
    *,
    policy: AlertPolicy,
    actor,
    expected_version: int | None = None,
    enabled: bool | None = None,
    severity: str | None = None,
    automation_level: str | None = None,
    parameters: dict[str, Any] | None = None,
    comment: str = "",
) -> AlertPolicy:
    """Save a new version of the policy; nothing happens when nothing changed.

    Raises ``DomainError`` for invalid values and ``Conflict`` when the policy moved past
    ``expected_version`` (default: the version of the ``policy`` object given).
    """
    if severity is not None and severity not in Severity.values:
        raise DomainError(f"Severity must be one of {', '.join(Severity.values)}.")
    if automation_level is not None and automation_level not in AutomationLevel.values:
        raise DomainError(f"Automation level must be one of {', '.join(AutomationLevel.values)}.")
    before = _snapshot(policy)
    after = dict(before)
    if enabled is not None:
        after["enabled"] = bool(enabled)
    if severity is not None:
        after["severity"] = severity
    if automation_level is not None:
        after["automation_level"] = automation_level
    if parameters is not None:
        after["parameters"] = policy_parameters_clean(policy=policy, parameters=parameters)
    changes = _changes(before, after)
    if not changes:
        return policy
    version = policy.version if expected_version is None else expected_version
    updated = AlertPolicy.objects.filter(pk=policy.pk, version=version).update(
        **after, version=F("version") + 1, updated_by=actor, updated_at=timezone.now()
    )
    if updated != 1:
        raise Conflict("Someone else saved this policy meanwhile. Reload it to see their change, then edit again.")
    policy.refresh_from_db()
    AlertPolicyVersion.objects.create(
        policy=policy,
        version=policy.version,
        changes=changes,
        comment=comment,
        changed_by=actor,
        changed_at=policy.updated_at,
        **after,
    )
    audit_record(
        actor=actor,
        verb="policy.updated",
        target=policy,
        summary=f"{policy.name} v{policy.version}: {', '.join(changes)}" + (f" ({comment})" if comment else ""),
        changes={
            "before": {k: v["before"] for k, v in changes.items()},
            "after": {k: v["after"] for k, v in changes.items()},
        },
    )
    return policy


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"severity": {"before", "after"}, "parameters.window_minutes": {...}}`` for what differs."""
    changes: dict[str, dict[str, Any]] = {}
    for field in ("enabled", "severity", "automation_level"):
        if before[field] != after[field]:
            changes[field] = {"before": before[field], "after": after[field]}
    old, new = before["parameters"] or {}, after["parameters"] or {}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes[f"parameters.{name}"] = {"before": old.get(name), "after": new.get(name)}
    return changes


# --- suppressions --------------------------------------------------------------------------------


def suppression_value_clean(*, kind: str, value: str) -> str:
    value = (value or "").strip().lower()
    if kind == AlertSuppression.Kind.IDENTITY:
        if "@" not in value or len(value) > 320 or " " in value:
            raise DomainError("An identity suppression needs a UPN such as user@contoso.com.")
        return value
    if kind == AlertSuppression.Kind.IP_RANGE:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise DomainError(f"{value!r} is not an IP address or range (CIDR such as 203.0.113.0/24).")
    if kind == AlertSuppression.Kind.SENDER_DOMAIN:
        value = value.lstrip("@")
        if not DOMAIN.match(value):
            raise DomainError(f"{value!r} is not a domain name such as news.contoso.com.")
        return value
    raise DomainError(f"Suppression kind must be one of {', '.join(AlertSuppression.Kind.values)}.")


@transaction.atomic
def suppression_create(
    *, policy: AlertPolicy, kind: str, value: str, reason: str, expires_at: datetime, actor
) -> AlertSuppression:
    """Silence ``policy`` for an identity, an IP range or a sender domain until ``expires_at``."""
    value = suppression_value_clean(kind=kind, value=value)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why: a suppression needs a reason.")
    now = timezone.now()
    if expires_at is None or expires_at <= now:
        raise DomainError("The expiry must be in the future.")
    if expires_at > now + timedelta(days=MAX_SUPPRESSION_DAYS):
        raise DomainError(f"A suppression lasts at most {MAX_SUPPRESSION_DAYS} days; renew it when it ends.")
    suppression = AlertSuppression.objects.create(
        policy=policy, kind=kind, value=value, reason=reason[:2000], expires_at=expires_at, created_by=actor
    )
    audit_record(
        actor=actor,
        verb="suppression.created",
        target=policy,
        summary=f"{policy.name}: suppressed {suppression} until {expires_at:%Y-%m-%d %H:%M} ({reason[:200]})",
        changes={"suppression": suppression.pk, "kind": kind, "value": value, "expires_at": expires_at.isoformat()},
    )
    return suppression


@transaction.atomic
def suppression_expire(*, suppression: AlertSuppression, actor) -> AlertSuppression:
    """End a suppression now. Ending one that already ended or expired is a conflict."""
    now = timezone.now()
    ended = AlertSuppression.objects.filter(pk=suppression.pk, ended_at__isnull=True, expires_at__gt=now).update(
        ended_at=now, ended_by=actor
    )
    if ended != 1:
        raise Conflict("This suppression has already ended.")
    suppression.refresh_from_db()
    audit_record(
        actor=actor,
        verb="suppression.ended",
        target=suppression.policy,
        summary=f"{suppression.policy.name}: ended the suppression of {suppression}",
        changes={"suppression": suppression.pk, "kind": suppression.kind, "value": suppression.value},
    )
    return suppression

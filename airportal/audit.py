"""The audit log: every decision and configuration change writes one row, in the caller's transaction."""

from typing import Any

from django.db import models

from airportal.models import AuditEntry


def audit_record(
    *,
    actor,
    verb: str,
    target: models.Model | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one audit row. ``actor`` None means the system itself (a task, a sweep)."""
    is_user = actor is not None and getattr(actor, "pk", None) is not None
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_label=actor.get_username() if is_user else "system",
        verb=verb,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:300] if target is not None else "",
        summary=summary,
        changes=changes or {},
        ip=ip,
    )


def audit_entries(
    *,
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    verb: str = "",
    start=None,
    end=None,
) -> models.QuerySet:
    """Audit rows matching the filters (the page and its CSV export share this).

    ``verb`` matches a prefix, so ``action.`` finds every action decision.
    """
    queryset = AuditEntry.objects.all()
    if actor:
        queryset = queryset.filter(actor_label=actor)
    if object_type:
        queryset = queryset.filter(object_type=object_type)
    if object_id:
        queryset = queryset.filter(object_id=object_id)
    if verb:
        queryset = queryset.filter(verb__startswith=verb)
    if start is not None:
        queryset = queryset.filter(occurred_at__gte=start)
    if end is not None:
        queryset = queryset.filter(occurred_at__lt=end)
    return queryset

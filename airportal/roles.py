"""Roles and capabilities: the role table of DESIGN.md, as Django groups and permissions.

A role is a Django group of the same name; each capability is a permission on the
``airportal.Capability`` content type. Views and API endpoints check capabilities,
never role names, so the table below is the single place that says who may do what.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    INGEST = "ingest", "Ingest"
    ANALYST = "analyst", "Analyst"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class Capability(models.TextChoices):
    INGEST = "ingest_events", "Post to the ingest API"
    VIEW = "view_security_data", "See alerts, timelines and investigations"
    TRIAGE = "triage", "Triage alerts, approve and reject actions"
    SECOND_APPROVAL = "second_approve", "Give the second approval of high-impact actions"
    READ_REPORTS = "read_reports", "Read history, metrics, exports and the audit log"
    MANAGE_REPORTS = "manage_reports", "Manage reports and notifications"
    ADMINISTER = "administer", "Configure policies, connectors, users and tokens"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.INGEST: frozenset({Capability.INGEST}),
    Role.ANALYST: frozenset({Capability.VIEW, Capability.TRIAGE, Capability.SECOND_APPROVAL, Capability.READ_REPORTS}),
    Role.MANAGER: frozenset(
        {
            Capability.VIEW,
            Capability.TRIAGE,
            Capability.SECOND_APPROVAL,
            Capability.READ_REPORTS,
            Capability.MANAGE_REPORTS,
        }
    ),
    Role.ADMIN: frozenset(Capability),
}


def role_groups_sync(*, group_model, permission_model) -> None:
    """Make each role's group hold exactly its capabilities.

    Runs in the roles migration (with historical models) and after every ``migrate`` or
    ``flush`` (post_migrate), so the table above is always what the database says.
    """
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _ = group_model.objects.get_or_create(name=role.value)
        group.permissions.set(
            permission_model.objects.filter(
                content_type__app_label="airportal", codename__in=[c.value for c in capabilities]
            )
        )


def has_capability(user, capability: Capability) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(f"airportal.{capability}"))


def user_role(user) -> Role | None:
    """The user's role: the highest-ranking role group the user belongs to."""
    names = {group.name for group in user.groups.all()}  # uses prefetch_related("groups") when a list did it
    for role in (Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.INGEST):
        if role.value in names:
            return role
    return None


def capability_required(capability: Capability):
    """View decorator: sign-in required, then 403 unless the user has the capability."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_capability(request.user, capability):
                raise PermissionDenied(f"Your role does not allow this ({capability.label.lower()}).")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

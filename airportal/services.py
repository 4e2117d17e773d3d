"""Services of the project package: users and their roles, and the portal settings."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from airportal.audit import audit_record
from airportal.models import PortalSettings
from airportal.roles import Role

DEFAULT_FOUR_EYES_KINDS = ["disable_account", "reset_password"]


@transaction.atomic
def user_set_role(*, user, role: Role, actor=None) -> None:
    """Give ``user`` exactly one role (replacing any other role group)."""
    before = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(Group.objects.get(name=role.value))
    audit_record(
        actor=actor,
        verb="user.role_changed",
        target=user,
        changes={"before": before, "after": [role.value]},
    )


@transaction.atomic
def user_get_or_create(*, username: str, role: Role, actor=None, email: str = "") -> tuple:
    """The user named ``username`` with ``role``, created (without a password) if missing."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_record(actor=actor, verb="user.created", target=user)
    user_set_role(user=user, role=role, actor=actor)
    return user, created


def portal_settings_get() -> PortalSettings:
    settings, _ = PortalSettings.objects.get_or_create(
        pk=1, defaults={"four_eyes_action_kinds": list(DEFAULT_FOUR_EYES_KINDS)}
    )
    return settings


@transaction.atomic
def portal_settings_update(*, actor, **changes) -> PortalSettings:
    settings = portal_settings_get()
    before = {field: getattr(settings, field) for field in changes}
    for field, value in changes.items():
        setattr(settings, field, value)
    settings.updated_by = actor
    settings.save()
    audit_record(actor=actor, verb="settings.changed", target=settings, changes={"before": before, "after": changes})
    return settings

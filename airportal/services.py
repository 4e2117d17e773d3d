"""Services of the project package: users and their roles, and the portal settings."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from airportal.audit import audit_record
from airportal.errors import Conflict, DomainError, NotAllowed
from airportal.models import PortalSettings
from airportal.roles import Role

DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DEFAULT_FOUR_EYES_KINDS = ["disable_account", "reset_password", "remove_mfa_method"]


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


def _other_active_admins(user) -> bool:
    return get_user_model().objects.filter(groups__name=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


def _is_admin(user) -> bool:
    return user.groups.filter(name=Role.ADMIN).exists()


@transaction.atomic
def user_invite(*, username: str, email: str = "", role: Role, actor):
    """Create a person's account with ``role`` and no password; they set one with ``user_set_password_link``."""
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise Conflict(f"A user named {username!r} already exists.")
    user = user_model.objects.create(username=username, email=email)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(actor=actor, verb="user.invited", target=user, changes={"email": email, "role": role.value})
    user_set_role(user=user, role=role, actor=actor)
    return user


def user_set_password_link(*, user) -> str:
    """The path of a one-time link that lets ``user`` choose a password.

    It is Django's password-reset token: it stops working once the password changes (or after
    PASSWORD_RESET_TIMEOUT), so it can be used once.
    """
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_set", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


@transaction.atomic
def user_password_link_issue(*, user, actor) -> str:
    """A new set-password link for ``user`` (audited: whoever holds it can take the account)."""
    if not user.is_active:
        raise Conflict("This account is deactivated; reactivate it first.")
    audit_record(actor=actor, verb="user.password_link_issued", target=user)
    return user_set_password_link(user=user)


@transaction.atomic
def user_set_password(*, user, password: str) -> None:
    """The user chose a password through a set-password link (validated by the form)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=user, verb="user.password_set", target=user)


@transaction.atomic
def user_change_role(*, user, role: Role, actor) -> None:
    """An admin changes a role; the last active admin cannot lose theirs (nobody could administer)."""
    if role != Role.ADMIN and _is_admin(user) and not _other_active_admins(user):
        raise NotAllowed("This is the last active admin: make someone else admin first.")
    user_set_role(user=user, role=role, actor=actor)


@transaction.atomic
def user_deactivate(*, user, actor) -> None:
    """Sign the user out everywhere and refuse their sign-ins and API tokens (rows are kept for the audit)."""
    if actor is not None and user.pk == actor.pk:
        raise NotAllowed("You cannot deactivate your own account.")
    if _is_admin(user) and not _other_active_admins(user):
        raise NotAllowed("This is the last active admin: make someone else admin first.")
    if get_user_model().objects.filter(pk=user.pk, is_active=True).update(is_active=False) != 1:
        raise Conflict("This account is already deactivated.")
    user.is_active = False
    audit_record(actor=actor, verb="user.deactivated", target=user)


@transaction.atomic
def user_reactivate(*, user, actor) -> None:
    if get_user_model().objects.filter(pk=user.pk, is_active=False).update(is_active=True) != 1:
        raise Conflict("This account is already active.")
    user.is_active = True
    audit_record(actor=actor, verb="user.reactivated", target=user)


def accepted_domains_parse(text: str) -> list[str]:
    """One domain per line (or comma-separated), lower-cased, de-duplicated; DomainError on a bad one."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text or ""):
        domain = raw.strip().lower().rstrip(".")
        if not domain:
            continue
        if not DOMAIN_RE.match(domain):
            raise DomainError(f"{raw[:80]!r} is not a domain name (e.g. contoso.com).")
        if domain not in domains:
            domains.append(domain)
    return domains


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

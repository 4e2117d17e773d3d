"""The demo tenant behind `manage.py loaddemo` and `make run`."""

import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from airportal.roles import Role
from airportal.services import user_get_or_create

DEMO_USERS = [("analyst", Role.ANALYST), ("analyst2", Role.ANALYST), ("manager", Role.MANAGER), ("admin", Role.ADMIN)]


@dataclass
class DemoReport:
    credentials: list[str] = field(default_factory=list)


@transaction.atomic
def demo_users_create(*, password: str | None) -> list[str]:
    """Console users for the demo, one per role.

    A given password is (re)set on every run; without one, new users get a generated password.
    """
    reset = password is not None
    password = password or secrets.token_urlsafe(12)
    lines = []
    for username, role in DEMO_USERS:
        user, created = user_get_or_create(username=username, role=role)
        if reset or created or not user.has_usable_password():
            user.set_password(password)
            user.save(update_fields=["password"])
            lines.append(f"Demo {role.label.lower()}: {username} / {password}")
        else:
            lines.append(f"Demo {role.label.lower()}: {username} (password unchanged)")
    return lines


def load_demo(*, password: str | None, log=print) -> DemoReport:
    report = DemoReport()
    report.credentials = demo_users_create(password=password)
    log(f"{get_user_model().objects.count()} console users.")
    return report

"""The demo tenant behind `manage.py loaddemo` and `make run`."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from airportal.dispatch import PIPELINE_QUEUES, tasks_run_inline
from airportal.roles import Role
from airportal.services import user_get_or_create
from alerts.ingest import ingest_records
from alerts.models import Alert, Identity
from alerts.services.identities import identity_update
from demo.records import demo_identity_details, demo_records
from demo.services import simulated_tenant_sync
from investigations.models import Investigation

DEMO_USERS = [("analyst", Role.ANALYST), ("analyst2", Role.ANALYST), ("manager", Role.MANAGER), ("admin", Role.ADMIN)]
# Order matters only for readability of the log: detection works on event time.
DEMO_SOURCES = ("entra-signins", "o365-audit", "message-trace", "graph-alerts")


@dataclass
class DemoReport:
    credentials: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)


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


def demo_tenant_load(*, log: Callable[[str], object]) -> dict[str, int]:
    """Ingest the demo tenant through the real pipeline (detection, investigations) and seed the
    simulated tenant. Running it again stores nothing new: every record is a duplicate."""
    created = {}
    records = demo_records()
    for source in DEMO_SOURCES:
        with tasks_run_inline(queues=PIPELINE_QUEUES):
            result = ingest_records(source=source, records=records.get(source, []))
        created[source] = result.created
        log(f"{source}: {result.received} records, {result.created} new, {result.duplicates} already stored.")
    details = {upn: (department, is_vip) for upn, _, department, is_vip in demo_identity_details()}
    for identity in Identity.objects.filter(upn__in=details):
        department, is_vip = details[identity.upn]
        identity_update(identity=identity, department=department, is_vip=is_vip)
    simulated_tenant_sync()
    log(
        f"{Identity.objects.count()} identities, {Alert.objects.count()} alerts, "
        f"{Investigation.objects.count()} investigations."
    )
    return created


def load_demo(*, password: str | None, log: Callable[[str], object] = print) -> DemoReport:
    report = DemoReport()
    report.credentials = demo_users_create(password=password)
    report.created = demo_tenant_load(log=log)
    return report

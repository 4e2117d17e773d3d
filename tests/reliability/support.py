"""Shared setup for the remediation reliability tests (real PostgreSQL, Redis and Celery workers)."""

import threading

from django.db import connection
from django.test import Client

from airportal.models import AuditEntry
from demo.models import SimulatedOperation
from investigations.models import Action, Investigation
from investigations.services.investigations import investigation_attach_alert
from tests.conftest import wait_until
from tests.investigations.support import alert, bec_attack, identity


def compromised_case(timeout: float = 60) -> Investigation:
    """Megan's BEC week, investigated by the worker: returns the investigation once it waits for people."""
    megan = identity()
    bec_attack(megan)
    investigation = investigation_attach_alert(alert_id=alert(megan).pk)
    wait_until(
        lambda: Investigation.objects.filter(pk=investigation.pk, status=Investigation.Status.PENDING_ACTION).exists(),
        timeout=timeout,
    )
    return Investigation.objects.get(pk=investigation.pk)


def settled(action: Action, timeout: float = 60) -> Action:
    """Wait until ``action`` is succeeded or failed; the fresh row."""
    done = (Action.Status.SUCCEEDED, Action.Status.FAILED)
    wait_until(lambda: Action.objects.filter(pk=action.pk, status__in=done).exists(), timeout=timeout)
    return Action.objects.get(pk=action.pk)


def connector_calls(action: Action) -> int:
    operation = SimulatedOperation.objects.filter(idempotency_key=action.idempotency_key).first()
    return operation.calls if operation else 0


def audit_count(action: Action, verb: str) -> int:
    return AuditEntry.objects.filter(object_type="investigations.action", object_id=str(action.pk), verb=verb).count()


def post_at_once(requests: list[tuple[object, str, dict]]) -> list[int]:
    """POST each (user, url, body) from its own thread and database connection, all released together."""
    barrier = threading.Barrier(len(requests))
    codes: list[int] = [0] * len(requests)

    def send(index, user, url, body):
        client = Client()
        client.force_login(user)
        try:
            barrier.wait()
            codes[index] = client.post(url, body, content_type="application/json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes

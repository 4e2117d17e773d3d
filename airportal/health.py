"""Health of what the product needs: the database, the Celery broker and a worker consuming tasks."""

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from airportal.celery import app as celery_app
from airportal.models import WorkerHeartbeat

# A worker is missing when none ran the heartbeat task for this many beat periods.
MISSED_HEARTBEATS = 3


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down", with its reason
        return f"down: {exc.__class__.__name__}"
    return "ok"


def broker_status() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def worker_last_seen() -> datetime | None:
    """When a worker last ran the heartbeat task (None: never)."""
    latest = WorkerHeartbeat.objects.order_by("-last_seen_at").first()
    return latest.last_seen_at if latest else None


def worker_status(last_seen: datetime | None) -> str:
    """``ok`` when a worker ran the heartbeat within three beat periods, else why not.

    Queued work (detection, playbooks, remediation) waits while no worker runs, so a console
    that answers but has no worker is degraded, not healthy.
    """
    if last_seen is None:
        return "down: no worker has reported yet"
    age = (timezone.now() - last_seen).total_seconds()
    if age > MISSED_HEARTBEATS * settings.WORKER_HEARTBEAT_SECONDS:
        return f"down: no worker heartbeat for {int(age)} s"
    return "ok"


def system_health() -> dict:
    """What ``/healthz`` answers: each part's status and ``status`` ok or degraded."""
    status = {"database": database_status(), "broker": broker_status()}
    last_seen = worker_last_seen() if status["database"] == "ok" else None
    status["worker"] = worker_status(last_seen) if status["database"] == "ok" else "unknown: database down"
    healthy = all(value == "ok" for value in status.values())
    return {"status": "ok" if healthy else "degraded", **status, "worker_last_seen": last_seen}

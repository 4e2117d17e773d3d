"""Health of the stores the product needs: the database and the Celery broker."""

from django.db import connection

from airportal.celery import app as celery_app


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


def worker_last_seen():
    """When a worker last ran the heartbeat task (None: never)."""
    from airportal.models import WorkerHeartbeat

    latest = WorkerHeartbeat.objects.order_by("-last_seen_at").first()
    return latest.last_seen_at if latest else None

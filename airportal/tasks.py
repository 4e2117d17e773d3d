import socket

from celery import shared_task
from django.utils import timezone

from airportal.models import WorkerHeartbeat


@shared_task(name="airportal.heartbeat", queue="default", ignore_result=True)
def heartbeat(origin: str = "") -> None:
    """Record that a worker is consuming tasks (beat sends one a minute; /healthz shows the age)."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=origin or socket.gethostname(), defaults={"last_seen_at": timezone.now()}
    )

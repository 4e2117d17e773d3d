import socket

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from airportal.models import WorkerHeartbeat


@shared_task(name="airportal.heartbeat", queue="default", ignore_result=True)
def heartbeat(origin: str = "") -> None:
    """Record that a worker is consuming tasks (beat sends one a minute; /healthz judges the age)."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=origin or socket.gethostname(), defaults={"last_seen_at": timezone.now()}
    )


@worker_ready.connect(dispatch_uid="airportal.heartbeat_on_start")
def heartbeat_on_start(sender=None, **kwargs) -> None:
    """A worker that has just started is alive: say so before beat's first heartbeat is due."""
    heartbeat(origin=getattr(sender, "hostname", "") or "")

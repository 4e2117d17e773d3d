"""Celery tasks of the notifications: thin wrappers around the services, by primary key."""

from celery import shared_task

from investigations.notifications.services import (
    notification_delivery_attempt,
    notification_event_dispatch,
    notifications_sweep,
)


@shared_task(name="investigations.notifications.dispatch", queue="default", ignore_result=True)
def dispatch_event(event: str, object_id: int, occurrence: str = "") -> None:
    """Record ``event`` for every rule that wants it (once per rule) and queue the sends."""
    notification_event_dispatch(event=event, object_id=object_id, occurrence=occurrence)


@shared_task(
    bind=True, name="investigations.notifications.deliver", queue="default", ignore_result=True, max_retries=None
)
def deliver(self, delivery_id: int) -> None:
    """Send one delivery; a transient failure comes back here after its backoff (the service caps attempts)."""
    delay = notification_delivery_attempt(delivery_id=delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="investigations.notifications.sweep", queue="default", ignore_result=True)
def sweep() -> None:
    """Beat: notify actions past their SLA, re-queue deliveries whose message was lost."""
    notifications_sweep()

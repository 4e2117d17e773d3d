"""Celery tasks of the alerts app: thin wrappers around services."""

import logging

from celery import shared_task

from alerts.detection import detect_events

logger = logging.getLogger(__name__)


@shared_task(
    name="alerts.detect_events",
    queue="detect",
    ignore_result=True,
    acks_late=True,
    retry_on_worker_lost=True,
    max_retries=3,
    default_retry_delay=2,
)
def detect_events_task(*, event_ids: list[int]) -> None:
    """Run detection over stored events; ids of events deleted since are skipped.

    A batch is never lost with the process judging it: if the pool process dies (OOM killer,
    crash), the batch is sent again (at most 3 times, so a batch that kills every process cannot
    loop); if the whole worker dies, the broker delivers the unacknowledged message again (RabbitMQ
    at once, Redis after its visibility timeout). Judging a batch twice is harmless (see
    ``alerts.detection``).
    """
    result = detect_events(event_ids=event_ids)
    if result.events < len(event_ids):
        logger.info("detect_events: %d of %d events are gone", len(event_ids) - result.events, len(event_ids))
    logger.info(
        "detect_events: %d events, %d identities, %d findings, %d suppressed, %d alerts created, %d folded",
        result.events,
        result.identities,
        result.findings,
        result.suppressed,
        result.alerts_created,
        result.alerts_folded,
    )


from alerts.tasks_events import event_partitions_ensure_task, events_purge_task  # noqa: E402,F401 - registers them
from alerts.tasks_m365 import m365_pull  # noqa: E402,F401 - registers alerts.m365_pull with the worker

"""Upkeep of the events table, from Celery beat (``CELERY_BEAT_SCHEDULE``): partitions created
ahead (PostgreSQL) and events past retention purged. Both are idempotent; a run that finds
nothing to do costs a few catalogue queries."""

import logging

from celery import shared_task

from alerts.partitions import event_partitions_ensure
from alerts.retention import events_purge

logger = logging.getLogger(__name__)


@shared_task(name="alerts.event_partitions_ensure", queue="default", ignore_result=True)
def event_partitions_ensure_task() -> None:
    created = event_partitions_ensure()
    if created:
        logger.info("event partitions created: %s", ", ".join(created))


@shared_task(name="alerts.events_purge", queue="default", ignore_result=True)
def events_purge_task() -> None:
    result = events_purge()
    logger.info(
        "events purge before %s: %d partitions dropped (~%d rows), %d rows deleted, %d evidence events kept",
        result.cutoff.isoformat(),
        len(result.partitions_dropped),
        result.rows_dropped,
        result.rows_deleted,
        result.evidence_kept,
    )

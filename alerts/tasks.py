"""Celery tasks of the alerts app: thin wrappers around services."""

import logging

from celery import shared_task
from django.conf import settings

from alerts.domains import accepted_domains_refresh
from alerts.feeds.cycle import m365_pull_cycle
from alerts.partitions import event_partitions_ensure
from alerts.pipeline import detection_batch_judge, detection_sweep
from alerts.retention import events_purge
from m365.client import M365Client, M365Error
from m365.config import config_get

logger = logging.getLogger(__name__)


@shared_task(
    name="alerts.detect_batch",
    queue="detect",
    ignore_result=True,
    acks_late=True,
    retry_on_worker_lost=True,
    max_retries=3,
    default_retry_delay=2,
)
def detect_batch(batch_id: int) -> None:
    """Judge one entry of the detection ledger; a no-op when it is already judged.

    A batch is never lost with the process judging it: if the pool process dies, Celery sends
    it again (at most 3 times); if the whole worker dies, the detection sweep queues the entry
    again a minute later, long before the broker's own redelivery.
    """
    result = detection_batch_judge(batch_id=batch_id)
    if result is None:
        logger.info("detect_batch %s: already judged", batch_id)
        return
    logger.info(
        "detect_batch %s: %d events, %d identities, %d findings, %d suppressed, %d alerts created, %d folded",
        batch_id,
        result.events,
        result.identities,
        result.findings,
        result.suppressed,
        result.alerts_created,
        result.alerts_folded,
    )


@shared_task(name="alerts.detection_sweep", queue="default", ignore_result=True)
def sweep_detection() -> None:
    """Beat: queue again the detection batches a broker outage or a dead worker left unjudged."""
    result = detection_sweep()
    if result.requeued:
        logger.warning("detection sweep: %d of %d unjudged batches queued again", result.requeued, result.unjudged)


@shared_task(name="alerts.m365_pull", queue="ingest", ignore_result=True)
def m365_pull() -> None:
    """One Microsoft 365 pull cycle; it stops a minute before the task's soft time limit and resumes next time."""
    report = m365_pull_cycle(budget_seconds=max(60, settings.CELERY_TASK_SOFT_TIME_LIMIT - 60))
    if report.skipped:
        logger.info("m365 pull skipped: %s", report.skipped)
        return
    for run in report.runs:
        logger.info(
            "m365 pull %s: %d records (%d new, %d duplicates, %d rejected)%s",
            run.stream,
            run.fetched,
            run.created,
            run.duplicates,
            run.rejected,
            f"; error: {run.error}" if run.error else "",
        )


@shared_task(name="alerts.accepted_domains_refresh", queue="default", ignore_result=True)
def accepted_domains_refresh_task() -> None:
    """Read the tenant's verified mail domains into the accepted domains (a Microsoft 365 connection only)."""
    config = config_get()
    if config is None:
        return
    try:
        added = accepted_domains_refresh(client=M365Client(config))
    except M365Error as exc:  # a missing Domain.Read.All keeps the domains the admin listed
        logger.warning("accepted domains not read from the tenant: %s", exc)
        return
    if added:
        logger.info("accepted domains read from the tenant: %s", ", ".join(added))


@shared_task(name="alerts.event_partitions_ensure", queue="default", ignore_result=True)
def event_partitions_ensure_task() -> None:
    """Beat: create the events table's partitions ahead (PostgreSQL; idempotent)."""
    created = event_partitions_ensure()
    if created:
        logger.info("event partitions created: %s", ", ".join(created))


@shared_task(name="alerts.events_purge", queue="default", ignore_result=True)
def events_purge_task() -> None:
    """Beat: drop or delete events past retention; what alerts and findings rest on is kept."""
    result = events_purge()
    logger.info(
        "events purge before %s: %d partitions dropped (~%d rows), %d rows deleted, %d evidence events kept",
        result.cutoff.isoformat(),
        len(result.partitions_dropped),
        result.rows_dropped,
        result.rows_deleted,
        result.evidence_kept,
    )

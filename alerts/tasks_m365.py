"""The Microsoft 365 pull, every ``M365_PULL_INTERVAL_SECONDS`` from Celery beat (``CELERY_BEAT_SCHEDULE``)."""

import logging

from celery import shared_task
from django.conf import settings

from alerts.feeds.cycle import m365_pull_cycle

logger = logging.getLogger(__name__)


@shared_task(name="alerts.m365_pull", queue="ingest", ignore_result=True)
def m365_pull() -> None:
    """One pull cycle; it stops a minute before the task's soft time limit and resumes next time."""
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

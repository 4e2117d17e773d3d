"""One pull cycle: every enabled feed from its checkpoint to now.

The beat task ``alerts.m365_pull`` and ``manage.py m365 pull`` both call ``m365_pull_cycle``.
A cycle claims the connection row with a conditional UPDATE, so a manual pull and the beat
never run at the same time; a claim older than ``STALE_CLAIM`` (a worker that died) is taken over.
Throttling is waited out as the service's ``Retry-After`` asks (``m365.throttling.Patience``),
within the cycle's time budget; a stream whose wait would pass the budget stops there and resumes
from its checkpoint next cycle. Any other failure in one stream (a missing permission, an outage)
is recorded on that stream and the others still run.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from alerts.feeds import (
    graph_alerts,
    graph_feed,
    graph_risk_detections,
    graph_signins,
    management_activity,
    message_trace,
)
from alerts.feeds.checkpoints import StreamRun, TimeBudgetSpent, feed_state_finish, feed_state_get
from m365.client import M365Client, M365Error, Throttled
from m365.config import ConfigError, config_get, connection_get
from m365.models import M365Connection, M365Feed
from m365.throttling import Patience

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=30)
GRAPH_FEEDS = {
    M365Feed.SIGNINS: graph_signins.FEED,
    M365Feed.ALERTS: graph_alerts.FEED,
    M365Feed.MESSAGE_TRACE: message_trace.FEED,
    M365Feed.RISK_DETECTIONS: graph_risk_detections.FEED,
}


@dataclass
class CycleReport:
    runs: list[StreamRun] = field(default_factory=list)
    skipped: str = ""  # why nothing ran
    deadline: float | None = None

    @property
    def fetched(self) -> int:
        return sum(run.fetched for run in self.runs)

    @property
    def ok(self) -> bool:
        return not self.skipped and all(run.ok for run in self.runs)


def _claim(now: datetime) -> bool:
    free = Q(cycle_started_at__isnull=True) | Q(cycle_started_at__lt=now - STALE_CLAIM)
    return M365Connection.objects.filter(free, pk=1).update(cycle_started_at=now) == 1


def _release() -> None:
    M365Connection.objects.filter(pk=1).update(cycle_started_at=None)


def _run_stream(stream: str, report: CycleReport, patience: Patience, work: Callable[[StreamRun], None]) -> None:
    run = StreamRun(stream=stream, deadline=report.deadline)
    waits, waited = patience.waits, patience.waited
    try:
        work(run)
    except TimeBudgetSpent:
        run.notes.append("The cycle's time budget ran out; the next cycle resumes from the checkpoint.")
    except Throttled as exc:
        if _passes_deadline(report.deadline, exc.retry_after):
            run.notes.append(f"{exc.message} The wait would pass the cycle's time budget; the next cycle resumes "
                             "from the checkpoint.")  # fmt: skip
        else:
            run.error = exc.message
            logger.warning("m365 pull %s: %s", stream, exc.message)
    except M365Error as exc:
        run.error = exc.message
        logger.warning("m365 pull %s: %s", stream, exc.message)
    except Exception as exc:  # one broken stream must not stop the others
        run.error = f"Internal error ({type(exc).__name__}); see the worker log."
        logger.exception("m365 pull %s failed", stream)
    if patience.waits > waits:
        run.throttled = patience.waits - waits
        run.notes.append(
            f"Throttled {run.throttled} time(s); waited {patience.waited - waited:.0f} s as the service asked."
        )
    feed_state_finish(state=feed_state_get(stream), run=run)
    report.runs.append(run)


def _passes_deadline(deadline: float | None, retry_after: float | None) -> bool:
    return deadline is not None and time.monotonic() + (retry_after or 0) > deadline


def m365_pull_cycle(*, now: datetime | None = None, budget_seconds: float | None = None) -> CycleReport:
    """Pull every enabled feed once. Returns what each stream fetched, or why nothing ran.

    With ``budget_seconds`` the streams stop at their next checkpointed boundary once it is spent
    (a long backfill then spreads over several cycles instead of hitting the task time limit).
    """
    now = (now or timezone.now()).replace(microsecond=0)
    connection = connection_get()
    try:
        config = config_get(connection=connection)
    except ConfigError as exc:
        return CycleReport(skipped=str(exc))
    if config is None:
        return CycleReport(skipped="No Microsoft 365 tenant is configured (Connectors page or M365_* settings).")
    if not config.feeds:
        return CycleReport(skipped="Every feed is switched off.")
    if not _claim(now):
        return CycleReport(skipped="Another pull cycle is running.")
    report = CycleReport(deadline=None if budget_seconds is None else time.monotonic() + budget_seconds)
    try:
        patience = Patience(deadline=report.deadline)
        client = M365Client(config, patience=patience)
        if M365Feed.AUDIT in config.feeds:
            _pull_audit(client, now, report)
        for feed in _graph_feeds(config.feeds):
            _run_stream(
                feed.stream,
                report,
                patience,
                lambda run, feed=feed: graph_feed.pull(client, feed, now=now, run=run),
            )
    finally:
        _release()
    return report


def _graph_feeds(enabled: frozenset[str]) -> list[graph_feed.GraphFeed]:
    feeds = [feed for key, feed in GRAPH_FEEDS.items() if key in enabled]
    if M365Feed.SIGNINS in enabled and settings.M365_NONINTERACTIVE_SIGNINS:
        feeds.append(graph_signins.NONINTERACTIVE_FEED)
    return feeds


def _pull_audit(client: M365Client, now: datetime, report: CycleReport) -> None:
    try:
        started = management_activity.subscriptions_ensure(client)
    except M365Error as exc:
        for content_type in management_activity.CONTENT_TYPES:
            stream = management_activity.stream_name(content_type)
            _run_stream(stream, report, client.patience, lambda run, exc=exc: _fail(exc))
        return
    for content_type in management_activity.CONTENT_TYPES:
        stream = management_activity.stream_name(content_type)

        def work(run: StreamRun, content_type=content_type) -> None:
            if content_type in started:
                run.notes.append("Subscription started; Microsoft can take up to 12 hours to list the first content.")
            management_activity.pull_content_type(client, content_type, now=now, run=run)

        _run_stream(stream, report, client.patience, work)


def _fail(exc: M365Error) -> None:
    raise exc

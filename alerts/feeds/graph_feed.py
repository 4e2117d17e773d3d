"""A Microsoft Graph collection read by time windows on one timestamp property.

Sign-ins, security alerts and message traces all page the same way: ``$filter`` on a timestamp
(``ge`` / ``le``) and ``@odata.nextLink`` to the last page. Records can appear late (sign-in logs
lag by minutes, alerts are updated), so each run re-reads an overlap behind the checkpoint and
skips the records it already handed to ingest.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from alerts.feeds.checkpoints import (
    StreamRun,
    deliver,
    feed_state_advance,
    feed_state_get,
    feed_state_save_seen,
    window_start,
    windows,
)
from m365 import times
from m365.client import M365Client


def _same(record: dict) -> dict:
    return record


@dataclass(frozen=True)
class GraphFeed:
    stream: str
    source: str  # the ingest adapter
    path: str  # under M365_GRAPH_URL
    time_property: str
    permission: str
    key: Callable[[dict], str]  # what makes a record new (an id, or an id and its update time)
    max_back: timedelta  # how far back the source keeps data
    window: timedelta = timedelta(hours=24)
    overlap: timedelta = timedelta(hours=1)
    page_size: int | None = None
    transform: Callable[[dict], dict] = field(default=_same)


def pull(client: M365Client, feed: GraphFeed, *, now: datetime, run: StreamRun) -> None:
    """Fetch ``feed`` from its checkpoint to ``now``, window by window, and ingest each page."""
    state = feed_state_get(feed.stream)
    backfill = min(timedelta(days=settings.M365_BACKFILL_DAYS), feed.max_back)
    start = window_start(state, now=now, backfill=backfill, overlap=feed.overlap, max_back=feed.max_back, run=run)
    for window_from, window_to in windows(start, now, feed.window):
        prop = feed.time_property
        params = {"$filter": f"{prop} ge {times.iso_z(window_from)} and {prop} le {times.iso_z(window_to)}"}
        if feed.page_size:
            params["$top"] = str(feed.page_size)
        run.check_time()
        for page in client.graph_pages(feed.path, params=params, permission=feed.permission):
            run.check_time()
            fresh = []
            for record in page:
                key = feed.key(record)
                if key in state.seen:
                    continue
                state.seen[key] = times.parse(record[feed.time_property]).isoformat()
                fresh.append(feed.transform(record))
            deliver(source=feed.source, records=fresh, run=run)
            if fresh:  # persist the page's keys once it is ingested
                feed_state_save_seen(state=state)
        feed_state_advance(state=state, checkpoint=window_to, overlap=feed.overlap)

"""A Microsoft Graph collection read by time windows on one timestamp property.

Sign-ins, security alerts and message traces all page the same way: ``$filter`` on a timestamp
(``ge`` / ``le``) and ``@odata.nextLink`` to the last page. Records can appear late (sign-in logs
lag by minutes, alerts are updated), so each run re-reads an overlap behind the checkpoint and
skips the records it already handed to ingest.

A run that stops inside a window (the time budget ran out, a wait too long, an outage) leaves the
window's next-page link on the stream. The next run follows that link to the window's end and goes
on from the checkpoint, without reading the overlap again: the stopped run read it minutes ago, and
the next complete run reads it anyway. A link Graph no longer accepts (an expired skip token) is
dropped and the run starts over as usual.
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
    feed_state_save_page,
    window_start,
    windows,
)
from alerts.models import M365FeedState
from m365 import times
from m365.client import AccessDenied, M365Client, M365Error, Throttled, Unavailable


def _same(record: dict) -> dict:
    return record


@dataclass(frozen=True)
class GraphFeed:
    stream: str
    source: str  # the ingest adapter
    path: str  # under the Graph base URL
    time_property: str
    permission: str
    key: Callable[[dict], str]  # what makes a record new (an id, or an id and its update time)
    max_back: timedelta  # how far back the source keeps data
    window: timedelta = timedelta(hours=24)
    overlap: timedelta = timedelta(hours=1)
    page_size: int | None = None
    condition: str = ""  # an OData clause every request adds to the time window's
    beta: bool = False  # read from Graph beta (the condition needs a beta-only property)
    transform: Callable[[dict], dict] = field(default=_same)


def pull(client: M365Client, feed: GraphFeed, *, now: datetime, run: StreamRun) -> None:
    """Fetch ``feed`` from its checkpoint to ``now``, window by window, and ingest each page."""
    state = feed_state_get(feed.stream)
    start = _resume(client, feed, state, run) if state.resume_link else None
    if start is None:
        backfill = min(timedelta(days=settings.M365_BACKFILL_DAYS), feed.max_back)
        start = window_start(state, now=now, backfill=backfill, overlap=feed.overlap, max_back=feed.max_back, run=run)
    for window_from, window_to in windows(start, now, feed.window):
        prop = feed.time_property
        clauses = [f"{prop} ge {times.iso_z(window_from)}", f"{prop} le {times.iso_z(window_to)}"]
        params = {"$filter": " and ".join(filter(None, [*clauses, feed.condition]))}
        if feed.page_size:
            params["$top"] = str(feed.page_size)
        url = client.graph_url(feed.path, beta=feed.beta)
        _read_window(client, feed, state, run, url=url, params=params, until=window_to)


def _resume(client: M365Client, feed: GraphFeed, state: M365FeedState, run: StreamRun) -> datetime | None:
    """Finish the window an earlier run stopped in from its saved link; where to go on from, or
    None when Graph no longer accepts the link."""
    try:
        _read_window(client, feed, state, run, url=state.resume_link, params=None, until=state.resume_until)
    except (Throttled, Unavailable, AccessDenied):
        raise
    except M365Error as exc:
        run.notes.append(f"The saved next-page link was refused ({exc.message}); reading from the checkpoint again.")
        feed_state_save_page(state=state, resume_link="", resume_until=None)
        return None
    return state.checkpoint


def _read_window(
    client: M365Client,
    feed: GraphFeed,
    state: M365FeedState,
    run: StreamRun,
    *,
    url: str | None,
    params: dict | None,
    until: datetime,
) -> None:
    """Every page from ``url`` to the window's last, each ingested before the next is asked for."""
    while url:
        run.check_time()
        page, url = client.graph_page(url, params=params, permission=feed.permission)
        params = None
        fresh = []
        for record in page:
            key = feed.key(record)
            if key in state.seen:
                continue
            state.seen[key] = times.parse(record[feed.time_property]).isoformat()
            fresh.append(feed.transform(record))
        deliver(source=feed.source, records=fresh, run=run)
        feed_state_save_page(state=state, resume_link=url or "", resume_until=until)
    checkpoint = until if state.checkpoint is None else max(until, state.checkpoint)
    feed_state_advance(state=state, checkpoint=checkpoint, overlap=feed.overlap)

"""The Office 365 Management Activity API: the unified audit log, one stream per content type.

How the API works (Microsoft's reference): after ``subscriptions/start``, ``subscriptions/content``
lists the content blobs that *became available* in a window of at most 24 hours (startTime
inclusive, endTime exclusive, start no more than 7 days back), paging with a ``NextPageUri``
header; each blob's ``contentUri`` returns a JSON array of audit records. Blobs are not listed in
the order their events happened, and a blob can show up in a listing after later ones, so each
stream re-lists an overlap behind its checkpoint and skips the contentIds it already fetched.
"""

from datetime import datetime, timedelta

from django.conf import settings

from alerts.feeds.checkpoints import (
    StreamRun,
    deliver,
    feed_state_advance,
    feed_state_get,
    feed_state_mark_seen,
    window_start,
    windows,
)
from m365 import permissions, times
from m365.client import ContentExpired, M365Client
from m365.endpoints import management_base
from m365.models import M365Feed

# Audit.SharePoint carries SharePoint and OneDrive file activity (FileDownloaded, FileSyncDownloadedFull,
# AnonymousLinkCreated): what an intruder takes after the takeover.
CONTENT_TYPES = ("Audit.Exchange", "Audit.AzureActiveDirectory", "Audit.SharePoint", "Audit.General")
SOURCE = "o365-audit"
PERMISSION = permissions.for_feed(M365Feed.AUDIT)
MAX_WINDOW = timedelta(hours=24)
# The API refuses a startTime more than 7 days back; keep a margin for the time the run takes.
MAX_BACK = timedelta(days=7) - timedelta(minutes=15)
OVERLAP = timedelta(hours=1)


def stream_name(content_type: str) -> str:
    return f"audit:{content_type}"


def _publisher(client: M365Client) -> dict:
    # The tenant's own GUID: requests with it get the tenant's dedicated throttling quota.
    return {"PublisherIdentifier": client.config.tenant_id}


def subscriptions_ensure(client: M365Client) -> list[str]:
    """Start the subscriptions that are not enabled yet; the content types started now."""
    base = management_base()
    current = client.get_json(
        client.management_url("subscriptions/list"), base_url=base, permission=PERMISSION, params=_publisher(client)
    )
    enabled = {item.get("contentType") for item in current if item.get("status") == "enabled"}
    started = []
    for content_type in CONTENT_TYPES:
        if content_type in enabled:
            continue
        client.request(
            "POST",
            client.management_url("subscriptions/start"),
            base_url=base,
            permission=PERMISSION,
            params={"contentType": content_type, **_publisher(client)},
        )
        started.append(content_type)
    return started


def _api_time(moment: datetime) -> str:
    return times.iso_z(moment).rstrip("Z")


def list_content(client: M365Client, content_type: str, start: datetime, end: datetime) -> list[dict]:
    """Every blob that became available in [start, end), following ``NextPageUri`` to the last page."""
    base = management_base()
    url: str | None = client.management_url("subscriptions/content")
    params: dict | None = {
        "contentType": content_type,
        "startTime": _api_time(start),
        "endTime": _api_time(end),
        **_publisher(client),
    }
    blobs: list[dict] = []
    while url:
        response = client.request("GET", url, base_url=base, permission=PERMISSION, params=params)
        blobs.extend(response.json() or [])
        url, params = response.headers.get("NextPageUri"), None
        if url and "PublisherIdentifier=" not in url:
            params = _publisher(client)
    return blobs


def pull_content_type(client: M365Client, content_type: str, *, now: datetime, run: StreamRun) -> None:
    """Fetch every blob of one content type from its checkpoint to ``now`` and ingest its records.

    Raises the client's errors (throttling, permissions); progress made until then is kept.
    """
    state = feed_state_get(stream_name(content_type))
    backfill = min(timedelta(days=settings.M365_BACKFILL_DAYS), MAX_BACK)
    start = window_start(state, now=now, backfill=backfill, overlap=OVERLAP, max_back=MAX_BACK, run=run)
    for window_from, window_to in windows(start, now, MAX_WINDOW):
        run.check_time()
        for blob in list_content(client, content_type, window_from, window_to):
            content_id = blob["contentId"]
            if content_id in state.seen:
                continue
            run.check_time()
            created = times.parse(blob["contentCreated"])
            try:
                records = client.get_json(
                    blob["contentUri"],
                    base_url=management_base(),
                    permission=PERMISSION,
                    params=_publisher(client),
                )
            except ContentExpired:
                run.notes.append(
                    f"{content_type} blob {content_id[:40]}… (available {blob['contentCreated']}) expired before "
                    "it could be fetched (AF20051); its records are lost."
                )
            else:
                deliver(source=SOURCE, records=list(records or []), run=run)
                run.blobs += 1
            feed_state_mark_seen(state=state, key=content_id, at=created)
        feed_state_advance(state=state, checkpoint=window_to, overlap=OVERLAP)

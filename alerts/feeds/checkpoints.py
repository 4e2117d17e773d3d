"""Checkpoints of the pull streams: where each stands, and what each run did.

A stream advances its checkpoint only when a whole time window has been fetched and handed to
ingest, and records each fetched id in ``seen`` as it goes. A run cut short (throttling, a crash,
a restart) therefore resumes at the window it was in and skips what it had already fetched:
no gap, no duplicate.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import M365FeedState


class TimeBudgetSpent(Exception):
    """The cycle's time is up: stop at a checkpointed boundary and resume next cycle."""


@dataclass
class StreamRun:
    """What one stream did in one pull cycle."""

    stream: str
    fetched: int = 0  # records handed to ingest
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    blobs: int = 0  # audit content blobs fetched
    throttled: int = 0  # throttled answers waited out
    notes: list[str] = field(default_factory=list)
    error: str = ""
    deadline: float | None = None  # time.monotonic() value after which the run stops

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeBudgetSpent

    @property
    def ok(self) -> bool:
        return not self.error


def feed_state_get(stream: str) -> M365FeedState:
    state, _ = M365FeedState.objects.get_or_create(stream=stream)
    return state


def window_start(
    state: M365FeedState, *, now: datetime, backfill: timedelta, overlap: timedelta, max_back: timedelta, run: StreamRun
) -> datetime:
    """Where this run starts: the checkpoint less the overlap, or the backfill on the first run,
    never earlier than the source keeps data (``max_back``)."""
    start = now - backfill if state.checkpoint is None else state.checkpoint - overlap
    floor = now - max_back
    if start < floor:
        if state.checkpoint is not None and state.checkpoint < floor:
            run.notes.append(
                f"Checkpoint {state.checkpoint:%Y-%m-%d %H:%M} is older than the source keeps data; "
                f"resuming at {floor:%Y-%m-%d %H:%M} (activity in between cannot be fetched any more)."
            )
        start = floor
    return start


def windows(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most ``span``."""
    cuts = []
    while start < end:
        cuts.append((start, min(start + span, end)))
        start = cuts[-1][1]
    return cuts


def feed_state_mark_seen(*, state: M365FeedState, key: str, at: datetime) -> None:
    """Remember one fetched id (persisted at once, so a crash right after does not refetch it)."""
    state.seen[key] = at.isoformat()
    feed_state_save_seen(state=state)


def feed_state_save_seen(*, state: M365FeedState) -> None:
    M365FeedState.objects.filter(pk=state.pk).update(seen=state.seen)


def feed_state_save_page(*, state: M365FeedState, resume_link: str, resume_until: datetime | None) -> None:
    """After a Graph page is ingested: its ids, and the next page's link to resume the window from."""
    state.resume_link, state.resume_until = resume_link, resume_until if resume_link else None
    M365FeedState.objects.filter(pk=state.pk).update(
        seen=state.seen, resume_link=state.resume_link, resume_until=state.resume_until
    )


def feed_state_advance(*, state: M365FeedState, checkpoint: datetime, overlap: timedelta) -> None:
    """Move the checkpoint to the end of a completed window, forget ids older than the overlap and
    the window's resume link."""
    horizon = (checkpoint - overlap).isoformat()
    state.seen = {key: at for key, at in state.seen.items() if at >= horizon}
    state.checkpoint, state.resume_link, state.resume_until = checkpoint, "", None
    M365FeedState.objects.filter(pk=state.pk).update(
        checkpoint=checkpoint, seen=state.seen, resume_link="", resume_until=None
    )


def feed_state_finish(*, state: M365FeedState, run: StreamRun) -> None:
    """Record how the run went (shown on the Connectors page)."""
    now = timezone.now()
    changes = {
        "last_run_at": now,
        "last_fetched": run.fetched,
        "total_fetched": state.total_fetched + run.fetched,
        "notes": "\n".join(run.notes),
    }
    if run.error:
        changes.update(last_error=run.error, last_error_at=now)
    else:
        changes.update(last_success_at=now, last_error="")
    M365FeedState.objects.filter(pk=state.pk).update(**changes)


def feed_states() -> list[dict]:
    """Every stream's standing for the Connectors page, with its lag (one query)."""
    now = timezone.now()
    states = M365FeedState.objects.defer("seen").order_by("stream")
    return [{"state": state, "lag": lag(state, now=now)} for state in states]


def lag(state: M365FeedState, *, now: datetime | None = None) -> timedelta | None:
    """How far behind now the stream's checkpoint is (None before the first completed window)."""
    if state.checkpoint is None:
        return None
    return (now or timezone.now()) - state.checkpoint


def deliver(*, source: str, records: list[dict], run: StreamRun) -> None:
    """Hand fetched records to the ingest pipeline (idempotent per source record id)."""
    if not records:
        return
    from alerts.ingest import ingest_records

    result = ingest_records(source=source, records=records)
    run.fetched += len(records)
    run.created += result.created
    run.duplicates += result.duplicates
    run.rejected += len(result.rejected)

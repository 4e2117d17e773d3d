"""The seam between ingestion and detection: the detection ledger.

Ingest calls ``events_ingested`` inside the transaction that stores a batch: the events get
ledger entries (``DetectionBatch``) in that same transaction, and their detection is queued
after commit. Detection marks an entry judged in the transaction that raises its alerts. So a
broker outage or a lost worker delays detection but never loses it: ``detection_sweep`` queues
every entry that stayed unjudged again, and judging an entry twice is a no-op.

Entries are cut per shard of identities (identity id modulo ``DETECTION_SHARDS``), and a
shard's entries are judged one at a time in ledger order: whoever judges an entry first judges
the shard's earlier entries still waiting. So several worker processes share the load, one
shard each at a time, and never judge an identity's batches out of order.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from airportal.dispatch import task_send_on_commit
from alerts.detection import DetectionResult, detect_events
from alerts.models import DetectionBatch, Event
from alerts.signals import events_judged

DETECT_TASK = "alerts.detect_batch"
REPOST_REQUEUE_AFTER = timedelta(seconds=10)  # a client reposting a body asks for it to be judged
MAX_BACKOFF = timedelta(hours=1)  # a batch that keeps failing is retried at most this rarely
SWEEP_LIMIT = 1000
SHARD_LOCK_CLASS = 4_242_002  # the first key of pg_advisory_xact_lock: "detection shard"
logger = logging.getLogger(__name__)


def events_ingested(*, event_ids: list[int]) -> list[int]:
    """Enter newly stored events in the detection ledger and queue their detection after commit.

    Call it inside the transaction that stored the events. Returns the ledger entries' ids.
    """
    batch_ids = detection_batches_enter(event_ids=event_ids)
    for batch_id in batch_ids:
        task_send_on_commit(DETECT_TASK, batch_id)
    return batch_ids


def detection_batches_enter(*, event_ids: list[int]) -> list[int]:
    """Ledger entries for ``event_ids`` (an identity's events in one entry), marked as queued now."""
    if not event_ids:
        return []
    now = timezone.now()
    entries = DetectionBatch.objects.bulk_create(
        DetectionBatch(event_ids=batch, queued_at=now, attempts=1, shard=shard)
        for shard, batch in batches_by_identity(
            event_ids, size=settings.DETECTION_BATCH_EVENTS, shards=settings.DETECTION_SHARDS
        )
    )
    return [entry.pk for entry in entries]


def detection_batch_judge(*, batch_id: int) -> DetectionResult | None:
    """Judge one ledger entry's events and mark it judged, in one transaction; its shard's earlier
    unjudged entries are judged first, each in a savepoint.

    ``None`` when the entry is gone or already judged (a redelivered or re-queued task). The
    shard lock makes a second, concurrent judge of the shard wait for the first and then find
    the entries judged. An earlier entry that fails is logged and left to its own task and the
    sweep; one the sweep had to queue again (``attempts`` > 1: it may kill the process that
    judges it) is not waited for.
    """
    shard = DetectionBatch.objects.filter(pk=batch_id).values_list("shard", flat=True).first()
    if shard is None:
        return None
    with transaction.atomic():
        _shard_lock(shard)
        entry = DetectionBatch.objects.select_for_update().filter(pk=batch_id, judged_at__isnull=True).first()
        if entry is None:
            return None
        earlier = DetectionBatch.objects.filter(shard=shard, judged_at__isnull=True, pk__lt=entry.pk, attempts__lte=1)
        for pending in earlier.order_by("pk"):
            try:
                with transaction.atomic():
                    _judge(pending)
            except Exception:
                logger.exception("detection batch %s failed while judged before %s", pending.pk, entry.pk)
        return _judge(entry)


def _judge(entry: DetectionBatch) -> DetectionResult:
    result = detect_events(event_ids=list(entry.event_ids))
    DetectionBatch.objects.filter(pk=entry.pk).update(judged_at=timezone.now())
    if result.spans:
        events_judged.send(sender=DetectionBatch, spans=result.spans)
    return result


def _shard_lock(shard: int) -> None:
    """Serialise the judging of one shard until the transaction ends (PostgreSQL; SQLite
    serialises writing transactions itself)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SHARD_LOCK_CLASS, shard])


@dataclass
class SweepResult:
    requeued: int = 0
    unjudged: int = 0


def detection_sweep(*, lost_after: timedelta | None = None) -> SweepResult:
    """Queue again the ledger entries still unjudged ``lost_after`` (a minute) after they were last queued.

    An entry that was queued many times waits longer each time (doubling, at most an hour), so
    a batch that kills every worker cannot flood the queue; it is never given up.
    """
    lost_after = lost_after or timedelta(seconds=settings.DETECTION_LOST_AFTER_SECONDS)
    now = timezone.now()
    candidates = list(
        DetectionBatch.objects.filter(judged_at__isnull=True, queued_at__lte=now - lost_after)
        .order_by("queued_at")
        .values_list("pk", "queued_at", "attempts")[:SWEEP_LIMIT]
    )
    due = [pk for pk, queued_at, attempts in candidates if queued_at <= now - _backoff(lost_after, attempts)]
    with transaction.atomic():
        DetectionBatch.objects.filter(pk__in=due, judged_at__isnull=True).update(
            queued_at=now, attempts=F("attempts") + 1
        )
        for pk in due:
            task_send_on_commit(DETECT_TASK, pk)
    return SweepResult(requeued=len(due), unjudged=DetectionBatch.objects.filter(judged_at__isnull=True).count())


def _backoff(lost_after: timedelta, attempts: int) -> timedelta:
    return min(lost_after * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def batches_by_identity(event_ids: list[int], *, size: int, shards: int = 1) -> list[tuple[int, list[int]]]:
    """(shard, event ids) batches: grouped by identity, each identity in shard ``id % shards``,
    packed per shard into batches of about ``size`` events (one query)."""
    by_identity: dict[int, list[int]] = defaultdict(list)
    for pk, identity_id in Event.objects.filter(pk__in=list(event_ids)).values_list("pk", "identity_id"):
        by_identity[identity_id or 0].append(pk)  # events about no user: shard 0
    batches: list[tuple[int, list[int]]] = []
    for shard in range(shards):
        current: list[int] = []
        for identity_id in sorted(i for i in by_identity if i % shards == shard):
            if current and len(current) + len(by_identity[identity_id]) > size:
                batches.append((shard, current))
                current = []
            current.extend(by_identity[identity_id])
        if current:
            batches.append((shard, current))
    return batches

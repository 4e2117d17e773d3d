"""``ingest_records``: the one pipeline behind the REST API, the CLI and the M365 pullers."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from airportal.errors import NotFound
from alerts import pipeline
from alerts.adapters import ADAPTERS, SOURCES, AdapterContext, RecordError
from alerts.adapters.base import RecordSkipped
from alerts.domains import accepted_domains
from alerts.ingest.merge import signin_copies_merge
from alerts.ingest.prepare import PreparedEvent, prepare
from alerts.ingest.store import identities_resolve
from alerts.ingest.writer import EventWriter
from alerts.selectors.principals import identity_upn_named

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
_ERROR_LENGTH = 500


@dataclass
class IngestResult:
    """What happened to the records of one call.

    ``received == created + duplicates + len(rejected) + len(skipped)``: ``rejected`` are malformed
    records (index and error), ``skipped`` valid ones out of scope (index and reason: no user).

    A record counts as created when at least one of its events is new (a Graph alert naming two
    users gives two events); ``event_ids`` are the ids of the newly stored events.
    """

    received: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """Stands in the record stream for a record a reader could not parse (e.g. a bad NDJSON line)."""

    error: str


def ingest_records(*, source: str, records: Iterable[Any]) -> IngestResult:
    """Normalise ``records`` of ``source`` and store them in batches of ``BATCH_SIZE``.

    Each batch is committed on its own (savepoints inside a caller's transaction) together with
    its entries in the detection ledger (``alerts.pipeline``), so no stored event is ever left
    unjudged; detection is queued after commit. A repost of records already stored queues again
    the detection of any stored events still waiting for it. The second copy of a sign-in (the
    audit log's and Graph's) is merged into the stored event, which is judged again when the
    merge changed what detection reads (``alerts.ingest.merge``). A bad record is reported
    with its index and never stops the others; storing the same record twice creates nothing.
    Errors of the stream itself (an unreadable body) propagate to the caller.
    """
    adapter = ADAPTERS.get(source)
    if adapter is None:
        raise NotFound(f"Unknown source {source!r}: use one of {', '.join(SOURCES)}.")
    context = AdapterContext(tenant_domains_loader=accepted_domains, principal_loader=identity_upn_named)
    writer = EventWriter(source)
    result = IngestResult()
    batch: list[tuple[int, PreparedEvent]] = []
    batch_records = 0
    for index, record in enumerate(records):
        result.received += 1
        try:
            if isinstance(record, UnreadableRecord):
                raise RecordError(record.error)
            prepared = [prepare(event) for event in adapter(record, context)]
            if not prepared:
                raise RecordError("the record holds no activity")
        except RecordSkipped as exc:
            result.skipped.append({"index": index, "reason": str(exc)[:_ERROR_LENGTH]})
            continue
        except RecordError as exc:
            result.rejected.append({"index": index, "error": str(exc)[:_ERROR_LENGTH]})
            continue
        except Exception as exc:  # an adapter bug must cost one record, not the batch
            logger.exception("%s adapter failed on record %d", source, index)
            result.rejected.append({"index": index, "error": f"could not be read ({type(exc).__name__})"})
            continue
        batch.extend((index, item) for item in prepared)
        batch_records += 1
        if batch_records >= BATCH_SIZE:
            _store(batch, writer, result)
            batch, batch_records = [], 0
    if batch:
        _store(batch, writer, result)
    return result


def _store(batch: list[tuple[int, PreparedEvent]], writer: EventWriter, result: IngestResult) -> None:
    prepared = [item for _, item in batch]
    with transaction.atomic():
        identity_ids = identities_resolve(prepared)
        written = writer.insert(prepared, identity_ids)
        new_record_ids = {record_id for _, record_id in written}
        event_ids = sorted(event_id for event_id, _ in written)
        merged_ids = signin_copies_merge(prepared=prepared, written=new_record_ids, source=writer.source)
        pipeline.events_ingested(event_ids=sorted({*event_ids, *merged_ids}))
    created: set[int] = set()
    claimed: set[str] = set()
    for index, item in batch:
        record_id = item.event.source_record_id
        if record_id in new_record_ids and record_id not in claimed:
            claimed.add(record_id)
            created.add(index)
    records = {index for index, _ in batch}
    result.created += len(created)
    result.duplicates += len(records) - len(created)
    result.event_ids.extend(event_ids)
    if len(records) > len(created):
        pipeline.detection_sweep(lost_after=pipeline.REPOST_REQUEUE_AFTER)

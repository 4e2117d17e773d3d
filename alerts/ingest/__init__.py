"""Ingestion: records of any source in, normalised events stored, detection told.

``ingest_records`` is the single entry point for the REST API, ``manage.py ingest`` and the
Microsoft 365 pullers; ``readers`` turns bodies and files into record streams.
"""

from alerts.ingest.service import BATCH_SIZE, IngestResult, UnreadableRecord, ingest_records

__all__ = ["BATCH_SIZE", "IngestResult", "UnreadableRecord", "ingest_records"]

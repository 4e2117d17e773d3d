"""Ingest as ``manage.py ingest`` does it, inside a test's transaction."""

from django.test import TestCase

from airportal.dispatch import PIPELINE_QUEUES, tasks_run_inline
from alerts.ingest import IngestResult, ingest_records


def ingest_judged(*, source: str, records) -> IngestResult:
    """``ingest_records`` with detection, correlation and the playbook done when it returns.

    A test's transaction never commits, so the work queued for after commit runs at the end of
    the call, in this process (as the CLI's ``tasks_run_inline`` does after each real commit).
    """
    with TestCase.captureOnCommitCallbacks(execute=True), tasks_run_inline(queues=PIPELINE_QUEUES):
        return ingest_records(source=source, records=records)

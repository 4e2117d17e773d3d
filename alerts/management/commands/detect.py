"""``manage.py detect --since <time>``: judge stored events again, now, in this process.

For events a lost batch never judged, a policy enabled after the fact, or a suppression lifted:
the events get detection ledger entries as at ingest and are judged in this process; correlation
and the playbook run here too, before the command returns. Idempotent: an alert that already holds an event
folds the repeat instead of raising a second alert.
"""

import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from airportal.dispatch import PIPELINE_QUEUES, tasks_run_inline
from alerts.models import Alert, DetectionBatch, Event
from alerts.pipeline import detection_batch_judge, detection_batches_enter

CHUNK = 5000
RELATIVE = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """An ISO 8601 time (UTC when it names no zone) or a span back from now: ``30m``, ``2h``, ``3d``."""
    value = value.strip()
    match = RELATIVE.match(value)
    if match:
        return timezone.now() - timedelta(**{UNITS[match[2]]: int(match[1])})
    try:
        moment = parse_datetime(value) or parse_datetime(f"{value}T00:00:00")
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--since {value!r}: give an ISO 8601 time (2026-03-01T08:00Z) or a span (30m, 2h, 3d).")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = "Judge stored events again (event time since --since); idempotent: no duplicate alerts."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="ISO 8601 time, or a span back from now: 30m, 2h, 3d.")
        parser.add_argument("--until", help="ISO 8601 time or span; default: now.")

    def handle(self, *args, since: str, until: str | None, **options):
        start = parse_since(since)
        end = parse_since(until) if until else timezone.now()
        if end < start:
            raise CommandError("--until is before --since.")
        alerts_before = Alert.objects.count()
        ids = (
            Event.objects.filter(occurred_at__gte=start, occurred_at__lte=end)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        judged = batches = 0
        chunk: list[int] = []
        with tasks_run_inline(queues=PIPELINE_QUEUES):
            for pk in ids.iterator(chunk_size=CHUNK):
                chunk.append(pk)
                if len(chunk) == CHUNK:
                    batches += self._judge(chunk)
                    judged, chunk = judged + len(chunk), []
            if chunk:
                batches += self._judge(chunk)
                judged += len(chunk)
        unjudged = DetectionBatch.objects.filter(judged_at__isnull=True).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Judged {judged} events from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC in {batches} batches: "
                f"{Alert.objects.count() - alerts_before} new alerts; {unjudged} batches still waiting for a worker."
            )
        )

    @staticmethod
    def _judge(event_ids: list[int]) -> int:
        """Enter the events in the ledger, then judge each entry here (a crash leaves them to the sweep)."""
        with transaction.atomic():
            batch_ids = detection_batches_enter(event_ids=event_ids)
        for batch_id in batch_ids:
            detection_batch_judge(batch_id=batch_id)
        return len(batch_ids)

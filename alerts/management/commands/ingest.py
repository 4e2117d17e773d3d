"""``manage.py ingest --source <source> FILE [FILE ...]``: the ingest pipeline, run inline.

Files are streamed (JSON array, Graph page, NDJSON, Purview CSV export, each optionally
gzip-compressed), so a file of any size needs about one batch of memory. Detection,
correlation and investigation run before the command returns.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import reset_queries
from tqdm import tqdm

from airportal.dispatch import PIPELINE_QUEUES, tasks_run_inline
from airportal.errors import DomainError
from alerts.adapters import SOURCES
from alerts.ingest import ingest_records
from alerts.ingest.readers import file_records

_SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Ingest activity records from files (JSON, NDJSON, Purview CSV; .gz accepted) and process them."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, choices=SOURCES, help="The format of the records.")
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")

    def handle(self, *args, source: str, files: list[Path], **options):
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
        totals = {"received": 0, "created": 0, "duplicates": 0, "rejected": 0, "skipped": 0}
        for path in files:
            with tqdm(
                total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, leave=False, dynamic_ncols=True
            ) as bar:
                try:
                    with tasks_run_inline(queues=PIPELINE_QUEUES):
                        result = ingest_records(
                            source=source, records=_forget_queries(file_records(path, on_read=bar.update))
                        )
                except DomainError as exc:
                    raise CommandError(f"{path}: {exc.message}")
            counts = {
                "received": result.received,
                "created": result.created,
                "duplicates": result.duplicates,
                "rejected": len(result.rejected),
                "skipped": len(result.skipped),
            }
            for key, value in counts.items():
                totals[key] += value
            self.stdout.write(f"{path}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
            for rejected in result.rejected[:_SHOWN_ERRORS]:
                self.stderr.write(f"  record {rejected['index']}: {rejected['error']}")
            if len(result.rejected) > _SHOWN_ERRORS:
                self.stderr.write(f"  … and {len(result.rejected) - _SHOWN_ERRORS} more rejected records")
        summary = ", ".join(f"{key} {value}" for key, value in totals.items())
        self.stdout.write(self.style.SUCCESS(f"Total: {summary}"))


def _forget_queries(records, every: int = 1000):
    """With DEBUG on, Django keeps every SQL text it ran; a long import must not accumulate them."""
    for count, record in enumerate(records, start=1):
        if count % every == 0:
            reset_queries()
        yield record

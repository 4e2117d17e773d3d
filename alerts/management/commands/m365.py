"""``manage.py m365 pull`` runs one pull cycle now; ``manage.py m365 check`` tests the connection."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alerts.feeds.checkpoints import feed_state_get, lag
from alerts.feeds.cycle import m365_pull_cycle
from m365.check import m365_check


class Command(BaseCommand):
    help = "Microsoft 365 connector: 'pull' runs one pull cycle now, 'check' tests the connection and permissions."

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["pull", "check"])

    def handle(self, *args, operation: str, **options):
        if operation == "pull":
            self.pull()
        else:
            self.check()

    def pull(self) -> None:
        report = m365_pull_cycle()
        if report.skipped:
            raise CommandError(report.skipped)
        now = timezone.now()
        for run in report.runs:
            state = feed_state_get(run.stream)
            behind = lag(state, now=now)
            blobs = f" from {run.blobs} content blob(s)" if run.stream.startswith("audit:") else ""
            line = (
                f"{run.stream:<34} {run.fetched:>6} record(s){blobs}: {run.created} new, "
                f"{run.duplicates} duplicate(s), {run.rejected} rejected; lag {_duration(behind)}"
            )
            self.stdout.write(self.style.ERROR(f"{line}\n    error: {run.error}") if run.error else line)
            for note in run.notes:
                self.stdout.write(f"    note: {note}")
        summary = f"Fetched {report.fetched} record(s) in {len(report.runs)} stream(s)."
        if not report.ok:
            raise CommandError(f"{summary} Some streams failed (see above); they resume from their checkpoints.")
        self.stdout.write(self.style.SUCCESS(summary))

    def check(self) -> None:
        items = m365_check()
        for item in items:
            mark = "ok " if item.ok else ("-- " if not item.required else "ERR")
            line = f"[{mark}] {item.label}: {item.detail}"
            self.stdout.write(line if item.ok or not item.required else self.style.ERROR(line))
        failed = [item for item in items if item.required and not item.ok]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: fix the items marked ERR.")
        self.stdout.write(self.style.SUCCESS("The connector is ready."))


def _duration(delta) -> str:
    if delta is None:
        return "n/a (no window completed yet)"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"

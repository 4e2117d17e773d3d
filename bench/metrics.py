"""The metrics page's queries at scale, against one plain scan of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/airportal .venv/bin/python bench/metrics.py
    .venv/bin/python bench/metrics.py --alerts 200000      # SQLite, the embedded default

1. Bulk-inserts N alerts over 90 days (9 detectors, 2,000 users, 5 analysts, realistic speeds,
   classifications and acknowledgements), one investigation per 10 alerts with 2 actions each.
2. Times ``metrics_compute`` (every figure of the metrics page) for 30 and 90 days, the history
   page's first page and a full alerts CSV export, each the median of 5 warm runs.
3. Times ``SELECT count(*), avg(created_at - first_activity_at)`` over the same period: one
   scan of the rows, the database's own raw speed for reading them, and prints the ratio.
Everything it created is deleted at the end (its identities, cascading to the rest), unless
``--keep``: the next run then reuses the rows instead of generating them again.
The last line reads ``metrics: <ms> ms for <n> alerts (30 d), scan <ms> ms, ratio <x>``.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airportal.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from airportal.exports import csv_rows  # noqa: E402
from alerts.detectors.registry import DETECTORS  # noqa: E402
from alerts.models import Alert, Identity, Severity  # noqa: E402
from investigations.models import Action, Investigation  # noqa: E402
from investigations.reports.exports import ALERT_COLUMNS, alert_rows  # noqa: E402
from investigations.reports.filters import ReportFilters  # noqa: E402
from investigations.reports.history import investigation_history  # noqa: E402
from investigations.reports.metrics import metrics_compute  # noqa: E402

DOMAIN = "bench-metrics.invalid"
BATCH = 5000


def populate(count: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    users = get_user_model()
    analysts = [users.objects.get_or_create(username=f"bench-analyst-{n}")[0] for n in range(5)]
    identities = Identity.objects.bulk_create(
        [
            Identity(upn=f"user{n:05d}@{DOMAIN}", department=rng.choice(["Finance", "Sales", "IT", "HR"]))
            for n in range(2000)
        ]
    )
    now = timezone.now()
    classes = ["", "", "true_positive", "benign_positive", "false_positive"]
    severities = [Severity.INFORMATIONAL, Severity.LOW, Severity.MEDIUM, Severity.HIGH]
    for start in range(0, count, BATCH):
        rows = []
        for _ in range(start, min(start + BATCH, count)):
            created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            acknowledged = created + timedelta(minutes=rng.expovariate(1 / 40)) if rng.random() < 0.7 else None
            rows.append(
                Alert(
                    detector=rng.choice(list(DETECTORS)),
                    identity=rng.choice(identities),
                    title="Bench alert",
                    severity=rng.choice(severities),
                    classification=rng.choice(classes),
                    assignee=rng.choice(analysts) if acknowledged else None,
                    dedup_key=uuid.uuid4().hex,
                    first_activity_at=created - timedelta(minutes=rng.expovariate(1 / 30)),
                    last_activity_at=created,
                    acknowledged_at=acknowledged,
                )
            )
        with transaction.atomic():
            alerts = Alert.objects.bulk_create(rows)
            # auto_now_add overrides created_at on insert: set the generated times afterwards.
            times = {alert.pk: alert.last_activity_at for alert in alerts}
            for alert in alerts:
                alert.created_at = times[alert.pk]
            Alert.objects.bulk_update(alerts, ["created_at"], batch_size=1000)
            investigations = Investigation.objects.bulk_create(
                [
                    Investigation(identity_id=alert.identity_id, status=Investigation.Status.REMEDIATED)
                    for alert in alerts[::10]
                ]
            )
            through = Investigation.alerts.through
            through.objects.bulk_create(
                [
                    through(investigation_id=inv.pk, alert_id=alert.pk)
                    for inv, alert in zip(investigations, alerts[::10], strict=True)
                ]
            )
            actions = []
            for inv, alert in zip(investigations, alerts[::10], strict=True):
                for kind in (Action.Kind.REVOKE_SESSIONS, Action.Kind.REMOVE_INBOX_RULE):
                    done = alert.last_activity_at + timedelta(minutes=rng.expovariate(1 / 90))
                    automated = rng.random() < 0.3
                    actions.append(
                        Action(
                            investigation_id=inv.pk,
                            identity_id=alert.identity_id,
                            kind=kind,
                            target=f"t{alert.pk}",
                            idempotency_key=uuid.uuid4().hex,
                            status=rng.choice([Action.Status.SUCCEEDED] * 4 + [Action.Status.REJECTED]),
                            automated=automated,
                            approved_at=done,
                            approved_by=None if automated else rng.choice(analysts),
                            finished_at=done,
                        )
                    )
            Action.objects.bulk_create(actions)
        print(f"  inserted {min(start + BATCH, count):,} alerts", flush=True)


def timed(function, runs: int = 5) -> float:
    function()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def raw_scan(filters: ReportFilters) -> None:
    seconds = (
        "EXTRACT(EPOCH FROM (created_at - first_activity_at))"
        if connection.vendor == "postgresql"
        else "(julianday(created_at) - julianday(first_activity_at)) * 86400"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), avg({seconds}) FROM alerts_alert WHERE created_at >= %s AND created_at < %s",  # noqa: S608
            [filters.start, filters.end],
        )
        cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="leave the generated rows for the next run")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    existing = Alert.objects.filter(identity__upn__endswith=f"@{DOMAIN}").count()
    if existing:
        print(f"{connection.vendor}: reusing the {existing:,} alerts a --keep run left", flush=True)
    else:
        print(f"{connection.vendor}: generating {args.alerts:,} alerts over 90 days…", flush=True)
        started = time.perf_counter()
        populate(args.alerts)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    end = timezone.now()
    results = {}
    try:
        for days in (30, 90):
            filters = ReportFilters(start=end - timedelta(days=days), end=end)
            count = Alert.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end).count()
            metrics_ms = timed(lambda f=filters: metrics_compute(filters=f))
            scan_ms = timed(lambda f=filters: raw_scan(f))
            results[days] = (count, metrics_ms, scan_ms)
            print(f"  {days:>2} d: {count:,} alerts, metrics {metrics_ms:.0f} ms, one scan {scan_ms:.1f} ms")
        filters = ReportFilters(start=end - timedelta(days=90), end=end)
        history_ms = timed(lambda: investigation_history(filters=filters, cursor=None))
        export_started = time.perf_counter()
        exported = sum(1 for _ in csv_rows(alert_rows(filters), ALERT_COLUMNS)) - 1  # minus the header
        export_s = time.perf_counter() - export_started
        print(f"  history first page {history_ms:.1f} ms; alerts CSV rows {exported:,} in {export_s:.1f} s")
    finally:
        if not args.keep:
            Identity.objects.filter(upn__endswith=f"@{DOMAIN}").delete()
            get_user_model().objects.filter(username__startswith="bench-analyst-").delete()
    count, metrics_ms, scan_ms = results[30]
    ratio = metrics_ms / scan_ms
    print(f"metrics: {metrics_ms:.0f} ms for {count} alerts (30 d), scan {scan_ms:.1f} ms, ratio {ratio:.1f}")


if __name__ == "__main__":
    main()

"""A large tenant on partitioned PostgreSQL: ingest against COPY, pages at 1 M and N events, purge, upkeep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/airportal CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/scale.py
    ... bench/scale.py --events 3000000 --api-records 100000    # ~7 minutes on a shared 2-core machine

1. Creates its own database next to ``DATABASE_URL``'s (``<name>_scale_bench``), migrates it (events
   partitioned by month) and loads ``bench/pages_tenant.py``'s tenant with 50,000 identities and
   ``--baseline`` events (1 M) over 90 days, then times the pages of ``bench/pages.py`` (same
   functions, same plan).
2. Fills the events up to ``--events`` (10 M) with COPY straight into the partitioned table, its
   indexes live (the raw speed of the database), and times the same pages again.
3. Starts gunicorn and posts ``--api-records`` audit records (``bench/ingest.py``'s generator,
   dated this week) through ``/api/v1/ingest/o365-audit/``; their rows are then COPYed into an
   empty copy of the table, as ``bench/ingest.py`` does: the ingest ratio is API / COPY.
4. Detection: the API run's ledger entries are judged by a Celery worker on the ``detect``
   queue with one process, then again from a clean slate (their baselines, sent recipients and
   alerts removed) with two (``--detect-processes``); the detect ratio is one process's events
   per second over the API's records per second. Set ``CELERY_BROKER_URL`` (Redis) as in production.
5. Purges the oldest month (retention set so that exactly its partition passes; the evidence in
   it is kept) and times it, then times partition upkeep: three new months, and a run with
   nothing to do (the hourly beat task's usual cost).
6. Drops the database (unless ``--keep``).
The last line reads ``scale: ingest ratio R1, detect ratio R2, page p95 at <N>/1M X, purge S s``.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import detect as detect_bench  # noqa: E402 - after the path is set
from bench import ingest as ingest_bench  # noqa: E402
from bench.pages import admin, pages  # noqa: E402
from bench.pages_tenant import CITIES, KINDS, Copier, Tenant, _event_row, load  # noqa: E402

CHUNK = 200_000


def database_urls() -> tuple[str, str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        sys.exit("bench/scale.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    name = f"{parsed.path.lstrip('/') or 'airportal'}_scale_bench"
    return urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{name}")), name


def millions(count: int) -> str:
    return f"{count / 1e6:g}M"


def fill(args, log) -> float:
    """COPY events up to ``args.events`` into the live, indexed table; rows per second."""
    from django.db import connection, transaction

    from alerts.models import Event

    start_id = (Event.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    count = args.events - args.baseline
    if count <= 0:
        return 0.0
    tenant = Tenant(args)
    tenant.rng = random.Random(11)
    tenant.homes = {n: tenant.rng.randrange(len(CITIES) - 4) for n in range(1, args.identities + 1)}
    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    copier = Copier(Event, chunk=count + 1)  # flushed below, every CHUNK rows, and only the COPY timed
    rng, span = tenant.rng, 90 * 86400
    started = time.perf_counter()
    copy_seconds = 0.0

    def timed_flush() -> float:
        began = time.perf_counter()
        with transaction.atomic():
            copier.flush()
        return time.perf_counter() - began

    for n in range(start_id, start_id + count):
        at = tenant.start + timedelta(seconds=rng.uniform(0, span))
        copier.add(**_event_row(tenant, n, at, rng.randint(2, args.identities), rng.choice(kinds)))
        if copier.pending >= CHUNK:
            copy_seconds += timed_flush()
    copy_seconds += timed_flush()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('alerts_event', 'id'), (SELECT max(id) FROM alerts_event))"
        )
        began = time.perf_counter()
        cursor.execute("VACUUM ANALYZE alerts_event")
        vacuum = time.perf_counter() - began
    log(
        f"fill: {copier.count:,} events COPYed in {copy_seconds:.0f} s of COPY "
        f"({time.perf_counter() - started:.0f} s with generating them), vacuum analyze {vacuum:.0f} s"
    )
    return copier.count / copy_seconds


def storage(log) -> float:
    """Bytes on disk per event (table, TOAST and indexes, over every partition)."""
    from alerts.partitions import event_partitions

    partitions = event_partitions()
    rows, size = sum(max(p.rows, 0) for p in partitions), sum(p.bytes for p in partitions)
    log(f"events: ~{rows:,} rows, {size / 1e9:.2f} GB with indexes in {len(partitions)} partitions")
    return size / max(rows, 1)


def api_ingest(args, log) -> tuple[float, float, list[int]]:
    """(API records/s, COPY rows/s of the same rows, the identities they name), as bench/ingest.py measures."""
    from django.db import connection

    from airportal.roles import Role
    from airportal.services import user_get_or_create
    from airportal.tokens import api_token_create, api_token_revoke
    from alerts.models import Identity

    user, _ = user_get_or_create(username="bench-ingest", role=Role.INGEST)
    token, raw_token = api_token_create(user=user, name="bench-scale")
    since = datetime.now(UTC) - timedelta(days=7)
    records = list(ingest_bench.generate(args.api_records))
    for n, record in enumerate(records):  # dated this week: they land in the current partitions
        record["CreationTime"] = (since + timedelta(seconds=n * 5)).strftime("%Y-%m-%dT%H:%M:%S")
    batch = ingest_bench.BATCH
    bodies = [json.dumps(records[i : i + batch]).encode() for i in range(0, len(records), batch)]
    port = ingest_bench._free_port()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "airportal.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        + ["--timeout", "600", "--log-level", "warning"],
        cwd=ROOT,
        env=os.environ,
    )
    try:
        ingest_bench._wait_for(port, gunicorn)
        elapsed, created = ingest_bench._post_all(port, raw_token, bodies)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    api_token_revoke(token=token, actor=None)
    ids = list(Identity.objects.filter(upn__endswith=f"@{ingest_bench.DOMAIN}").values_list("id", flat=True))
    copy_elapsed, copied = ingest_bench._copy_rate(connection, f"identity_id IN ({','.join(map(str, ids))})")
    log(f"API: {len(records):,} records in {elapsed:.1f} s ({created:,} created); COPY of them {copy_elapsed:.1f} s")
    return len(records) / elapsed, copied / copy_elapsed, ids


def detect_rate(processes: int, identity_ids: list[int], log) -> float:
    """Events per second that one Celery worker with ``processes`` processes on the ``detect``
    queue judges, from the API run's ledger entries (queued afresh, from a clean slate each time)."""
    from airportal.dispatch import task_send
    from alerts.models import DetectionBatch
    from alerts.pipeline import DETECT_TASK

    event_ids, entries = detection_reset(identity_ids)
    worker_log = str(Path(os.environ["AIRPORTAL_VAR_DIR"]) / f"worker-{processes}.log")
    worker = detect_bench.start_worker(dict(os.environ), processes, worker_log)
    try:
        started = time.perf_counter()
        for pk in entries:
            task_send(DETECT_TASK, pk)
        progress, unjudged = time.perf_counter(), len(entries)
        while unjudged:
            left = DetectionBatch.objects.filter(pk__in=entries, judged_at__isnull=True).count()
            progress, unjudged = (time.perf_counter(), left) if left < unjudged else (progress, unjudged)
            if worker.poll() is not None or time.perf_counter() - progress > 120:
                raise SystemExit("detection stopped:\n" + Path(worker_log).read_text()[-2000:])
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=120)
    log(
        f"detection, {processes} worker process(es): {len(event_ids):,} events in {len(entries)} batches "
        f"in {elapsed:.1f} s = {len(event_ids) / elapsed:,.0f} events/s (load average {os.getloadavg()[0]:.1f})"
    )
    return len(event_ids) / elapsed


def detection_reset(identity_ids: list[int]) -> tuple[set[int], list[int]]:
    """A clean slate for judging the API run's events again: (their ids, their ledger entries,
    marked unjudged), with the identities' baselines, sent recipients and alerts removed."""
    from django.db import connection

    from alerts.models import Alert, DetectionBatch, Event, IdentityBaseline, SentRecipient

    event_ids = set(Event.objects.filter(identity_id__in=identity_ids).values_list("id", flat=True))
    entries = [pk for pk, ids in DetectionBatch.objects.values_list("pk", "event_ids") if event_ids.intersection(ids)]
    Alert.objects.filter(identity_id__in=identity_ids).delete()
    IdentityBaseline.objects.filter(identity_id__in=identity_ids).delete()
    SentRecipient.objects.filter(identity_id__in=identity_ids).delete()
    DetectionBatch.objects.filter(pk__in=entries).update(judged_at=None, attempts=1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE alerts_identitybaseline")
    detect_bench.purge_queues()
    return event_ids, sorted(entries)


def detect_profile(identity_ids: list[int]) -> None:
    """Judge the API run's ledger entries again in this process, in ledger order, from a clean
    slate, and print where the time goes (``bench/detect.py``'s profile)."""
    from alerts.models import DetectionBatch

    _, entries = detection_reset(identity_ids)
    batches = dict(DetectionBatch.objects.filter(pk__in=entries).values_list("pk", "event_ids"))
    detect_bench.profile_batches([batches[pk] for pk in entries])
    detect_bench.purge_queues()  # the correlation tasks it sent to the playbook queue


def purge_one_month(log) -> float:
    """Set retention so that the oldest month passes it, purge, and time the purge."""
    from django.db import connection

    from airportal.services import portal_settings_update
    from alerts.partitions import event_partitions
    from alerts.retention import events_purge

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE alerts_event")
    oldest = next(p for p in event_partitions() if p.end is not None and p.rows > 0)
    portal_settings_update(actor=None, event_retention_days=(datetime.now(UTC) - oldest.end).days)
    started = time.perf_counter()
    result = events_purge()
    seconds = time.perf_counter() - started
    log(
        f"purge: {', '.join(result.partitions_dropped)} dropped (~{result.rows_dropped:,} rows), "
        f"{result.evidence_kept:,} evidence events kept, {result.rows_deleted:,} deleted, in {seconds:.2f} s"
    )
    return seconds


def partition_upkeep(log) -> None:
    from django.conf import settings

    from alerts.partitions import event_partitions_ensure

    started = time.perf_counter()
    created = event_partitions_ensure(ahead=settings.EVENT_PARTITIONS_AHEAD + 3)
    made = time.perf_counter() - started
    started = time.perf_counter()
    event_partitions_ensure()
    idle = time.perf_counter() - started
    log(
        f"partition upkeep: {len(created)} new partitions in {made:.2f} s; "
        f"a run with nothing to do {idle * 1000:.0f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--baseline", type=int, default=1_000_000, help="events when the pages are first timed")
    parser.add_argument("--identities", type=int, default=50_000)
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--investigations", type=int, default=20_000)
    parser.add_argument("--api-records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--detect-processes", type=int, default=2, help="1: skip the two-process detection run")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="then judge the API run's events again in-process: where the time goes"
    )
    args = parser.parse_args()
    args.baseline = min(args.baseline, args.events)

    maintenance, bench_url, name = database_urls()
    admin(maintenance, f'DROP DATABASE IF EXISTS "{name}"')
    admin(maintenance, f'CREATE DATABASE "{name}"')
    scratch = tempfile.mkdtemp(prefix="bench-scale-")
    os.environ.update(
        {
            "DATABASE_URL": bench_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_ROOT": str(Path(scratch) / "static"),
            "AIRPORTAL_VAR_DIR": scratch,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "airportal.settings",
        }
    )
    started = time.perf_counter()

    def log(line):
        print(f"[{time.perf_counter() - started:7.0f} s] {line}", flush=True)

    try:
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], check=True, env=os.environ)
        import django

        django.setup()
        baseline_args = argparse.Namespace(**{**vars(args), "events": args.baseline})
        analyst = load(baseline_args, log)[0]
        small = pages(args, analyst)
        log(f"pages at {millions(args.baseline)} events timed")
        copy_rate = fill(args, log)
        large = pages(args, analyst)
        log(f"pages at {millions(args.events)} events timed")
        bytes_per_event = storage(log)
        api_rate, api_copy_rate, api_identities = api_ingest(args, log)
        detect_one = detect_rate(1, api_identities, log)
        detect_two = detect_rate(2, api_identities, log) if args.detect_processes >= 2 else None
        if args.profile:
            detect_profile(api_identities)
        purge_seconds = purge_one_month(log)
        partition_upkeep(log)

        print()
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"{'page':38} {'p95 at ' + millions(args.baseline):>12} "
            f"{'p95 at ' + millions(args.events):>12} {'ratio':>6}"
        )
        for before, after in zip(small, large, strict=True):
            print(
                f"{before['name']:38} {before['p95']:9.1f} ms {after['p95']:9.1f} ms "
                f"{after['p95'] / before['p95']:6.2f}"
            )
        worst_small, worst_large = max(r["p95"] for r in small), max(r["p95"] for r in large)
        print(f"COPY into the live partitioned table: {copy_rate:,.0f} rows/s")
        print(f"events on disk: {bytes_per_event:,.0f} bytes per event, indexes included")
        print(f"API ingest {api_rate:,.0f} records/s; COPY of the same rows {api_copy_rate:,.0f} rows/s")
        print(f"detection, one worker process: {detect_one:,.0f} events/s = {detect_one / api_rate:.2f}x API ingest")
        if detect_two is not None:
            print(f"detection, two worker processes: {detect_two:,.0f} events/s = {detect_two / detect_one:.2f}x one")
        print(
            f"scale: ingest ratio {api_rate / api_copy_rate:.2f}, detect ratio {detect_one / api_rate:.2f}, "
            f"page p95 at "
            f"{millions(args.events)}/{millions(args.baseline)} {worst_large / worst_small:.2f}, "
            f"purge {purge_seconds:.1f} s"
        )
    finally:
        if "django" in sys.modules and getattr(sys.modules["django"], "apps", None):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

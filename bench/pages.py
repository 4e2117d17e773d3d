"""Server time of the console's pages on a large tenant, against each page's main query run raw.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/airportal .venv/bin/python bench/pages.py
    ... bench/pages.py --events 200000 --alerts 40000 --runs 10     # a quicker, smaller run
    ... bench/pages.py --keep        # keep the loaded database; --reuse measures it again

1. Creates a database of its own next to the one ``DATABASE_URL`` names (``<name>_pages_bench``),
   migrates it and bulk-loads it with ``COPY``: 10,000 identities, 1,000,000 events over 90 days
   (one user with 50,000 of them), 200,000 alerts, 20,000 investigations with their alerts,
   findings (and the events they rest on), actions and log steps.
2. Runs the app as in production (``DEBUG=0``, collected static files) in this process and asks
   each page through Django's test client, as a signed-in analyst: the dashboard, the alert
   queue (first page; a deep page with filters), the timeline of the 50,000-event user, an
   investigation page, the action center, and a search. For each: p50/p95 of the server time
   over ``--runs`` requests, the SQL query count, and the ratio of the page's p50 to its
   slowest query run alone as raw SQL (how much the page adds around the database's own work).
3. Drops the database (unless ``--keep``).
Target: p95 under 150 ms per page. The last line reads ``pages: worst p95 <ms> ms (<page>)``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.pages_tenant import HEAVY_UPN, load  # noqa: E402 - after the path is set


def database_urls() -> tuple[str, str, str]:
    """(the server's maintenance database URL, the bench database URL, its name)."""
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        sys.exit("bench/pages.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    name = f"{parsed.path.lstrip('/') or 'airportal'}_pages_bench"
    return urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{name}")), name


def admin(maintenance_url: str, sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(maintenance_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def database_exists(maintenance_url: str, name: str) -> bool:
    import psycopg2

    connection = psycopg2.connect(maintenance_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone() is not None
    connection.close()
    return found


# --- bulk load ----------------------------------------------------------------------------------


# --- measuring ----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(client, name: str, url: str, runs: int, headers=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    for _ in range(2):  # warm caches (templates, the database's buffers)
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    main = max(captured.captured_queries, key=lambda q: float(q["time"]))
    raw = []
    with connection.cursor() as cursor:
        for _ in range(max(5, runs // 2)):
            started = time.perf_counter()
            cursor.execute(main["sql"])
            cursor.fetchall()
            raw.append((time.perf_counter() - started) * 1000)
    p50, p95, raw50 = statistics.median(times), percentile(times, 0.95), statistics.median(raw)
    return {
        "name": name,
        "cpu": statistics.median(cpu),
        "p50": p50,
        "p95": p95,
        "queries": len(captured.captured_queries),
        "raw": raw50,
        "ratio": p50 / raw50 if raw50 else float("inf"),
        "main": main["sql"],
    }


def pages(args, analyst_id: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from airportal.keyset import cursor_encode
    from alerts.models import Alert
    from investigations.models import Investigation

    client = Client()
    client.force_login(get_user_model().objects.get(pk=analyst_id))
    deep = (
        Alert.objects.filter(severity="high", detector="suspicious_signin")
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[min(args.alerts // 50, 4000)]
    )
    deep_cursor = cursor_encode(list(deep))
    investigation = Investigation.objects.filter(identity__upn=HEAVY_UPN, status="pending_action").first()
    investigation = investigation or Investigation.objects.order_by("id").first()
    queue = reverse("alerts:alert_list")
    timeline = reverse("identity_timeline", args=[HEAVY_UPN])
    plan = [
        ("dashboard", reverse("dashboard")),
        ("alert queue, first page", queue),
        (
            "alert queue, deep page, filtered",
            f"{queue}?severity=high&status=all&detector=suspicious_signin&cursor={deep_cursor}",
        ),
        ("timeline, 50k-event user, 7 days", timeline),
        ("timeline, 50k-event user, 30 days", f"{timeline}?days=30"),
        ("investigation page", reverse("investigations:investigation_detail", args=[investigation.id])),
        ("action center, pending", reverse("investigations:action_center")),
        ("action center, history", reverse("investigations:action_center") + "?tab=history"),
        ("search, an IP", reverse("alerts:search") + "?q=10.1.0.2"),
        ("search, a subject word", reverse("alerts:search") + "?q=remittance"),
    ]
    return [measure(client, name, url, args.runs) for name, url in plan]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--investigations", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure an existing bench database again")
    parser.add_argument("--show-sql", action="store_true", help="print each page's main query")
    args = parser.parse_args()

    maintenance, bench_url, name = database_urls()
    reuse = args.reuse and database_exists(maintenance, name)
    if not reuse:
        admin(maintenance, f'DROP DATABASE IF EXISTS "{name}"')
        admin(maintenance, f'CREATE DATABASE "{name}"')
    scratch = tempfile.mkdtemp(prefix="bench-pages-")
    env = {
        "DATABASE_URL": bench_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(Path(scratch) / "static"),
        "AIRPORTAL_VAR_DIR": scratch,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    try:
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], check=True, env=os.environ)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airportal.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model

        def log(line):
            print(line, flush=True)

        if reuse:
            analyst = get_user_model().objects.get(username="bench-analyst-0").pk
            log(f"reusing {name}")
        else:
            analyst = load(args, log)[0]
        load_before = os.getloadavg()[0]
        results = pages(args, analyst)
        print()
        print(f"load average before measuring: {load_before:.1f} on {os.cpu_count()} CPUs (CPU ms: this process only)")
        print(
            f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>7} {'queries':>8} {'main SQL ms':>12} {'page/SQL':>9}"
        )
        for row in results:
            flag = "" if row["p95"] < 150 else "  over 150 ms"
            print(
                f"{row['name']:38} {row['p50']:8.1f} {row['p95']:8.1f} {row['cpu']:7.1f} {row['queries']:8d} "
                f"{row['raw']:12.1f} {row['ratio']:9.1f}{flag}"
            )
            if args.show_sql:
                print(f"    {row['main'][:600]}")
        worst = max(results, key=lambda row: row["p95"])
        print(f"pages: worst p95 {worst['p95']:.0f} ms ({worst['name']})")
    finally:
        if "django" in sys.modules and getattr(sys.modules["django"], "apps", None):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

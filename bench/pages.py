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
import csv
import io
import json
import os
import random
import statistics
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
DOMAIN = "bench-pages.invalid"
HEAVY_UPN = f"heavy.user@{DOMAIN}"
DETECTORS = [
    "suspicious_email_sending",
    "sending_limit_exceeded",
    "external_forwarding",
    "suspicious_inbox_rule",
    "suspicious_signin",
    "mailbox_permission_added",
    "mfa_method_changed",
    "oauth_app_consent",
    "external_alert",
]
CITIES = [
    ("Seattle", "US", 47.61, -122.33),
    ("New York", "US", 40.71, -74.0),
    ("London", "GB", 51.51, -0.13),
    ("Paris", "FR", 48.86, 2.35),
    ("Frankfurt am Main", "DE", 50.11, 8.68),
    ("Madrid", "ES", 40.42, -3.7),
    ("Toronto", "CA", 43.65, -79.38),
    ("Sydney", "AU", -33.87, 151.21),
    ("Singapore", "SG", 1.35, 103.82),
    ("Tokyo", "JP", 35.68, 139.69),
    ("Lagos", "NG", 6.52, 3.38),
    ("Moscow", "RU", 55.76, 37.62),
    ("São Paulo", "BR", -23.55, -46.63),
    ("Mumbai", "IN", 19.08, 72.88),
]
SUBJECTS = [
    "Quarterly report",
    "Invoice {n} overdue",
    "Updated remittance details - action required",
    "Team lunch",
    "Project plan v{n}",
    "Re: contract review",
    "Your password expires soon",
    "Weekly sync notes",
    "Purchase order {n}",
    "Shared document: budget {n}",
]
KINDS = [
    ("signin", 40),
    ("signin_failed", 5),
    ("mail_sent", 30),
    ("mail_received", 12),
    ("mail_items_accessed", 9),
    ("inbox_rule_created", 1),
    ("mailbox_permission_added", 1),
    ("mfa_method_changed", 1),
    ("other", 1),
]


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


class Copier:
    """COPY rows into a model's table; unspecified columns get the field's default."""

    def __init__(self, model, chunk: int = 100_000):
        from django.db.models import JSONField

        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.json = {f.column for f in self.fields if isinstance(f, JSONField)}
        self.defaults = {f.column: f.get_default() for f in self.fields}
        self.columns = [f.column for f in self.fields]
        self.chunk = chunk
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.pending = 0
        self.count = 0

    def _cell(self, column, value):
        if value is None:
            return r"\N"
        if column in self.json:
            return json.dumps(value)
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    def add(self, **row) -> None:
        values = [self._cell(c, row[c] if c in row else self.defaults[c]) for c in self.columns]
        self.writer.writerow(values)
        self.pending += 1
        if self.pending >= self.chunk:
            self.flush()

    def flush(self) -> None:
        from django.db import connection

        if not self.pending:
            return
        self.buffer.seek(0)
        table = self.model._meta.db_table
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", self.buffer)
        self.count += self.pending
        self.pending = 0
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)


def load(args, log) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from airportal.roles import Role
    from airportal.services import user_set_role
    from alerts.models import Alert, Event, Identity
    from investigations.models import Action, Finding, Investigation, InvestigationStep

    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=90)
    analysts = []
    for n in range(5):
        user = get_user_model().objects.create_user(f"bench-analyst-{n}", password=None)
        user_set_role(user=user, role=Role.ANALYST)
        analysts.append(user.pk)

    t = time.perf_counter()
    identities = Copier(Identity)
    homes = {}
    for n in range(1, args.identities + 1):
        upn = HEAVY_UPN if n == 1 else f"user{n:05d}@{DOMAIN}"
        homes[n] = rng.randrange(len(CITIES) - 4)  # attackers' cities are nobody's home
        identities.add(
            id=n,
            upn=upn,
            display_name=f"Bench User {n}",
            department=rng.choice(["Finance", "Sales", "Engineering", "Legal", "Support"]),
            is_vip=rng.random() < 0.02,
            risk_score=rng.randrange(100),
            first_seen_at=start,
            last_seen_at=now,
            created_at=start,
        )
    identities.flush()
    log(f"identities: {identities.count:,} in {time.perf_counter() - t:.1f} s")

    # Events in time order, as ingest stores them; the heavy user has 50,000 over the last 60 days.
    t = time.perf_counter()
    heavy = min(50_000, args.events // 4)
    moments = [
        (start + timedelta(seconds=rng.uniform(0, 90 * 86400)), rng.randint(2, args.identities))
        for _ in range(args.events - heavy)
    ]
    moments += [(now - timedelta(seconds=rng.uniform(0, 60 * 86400)), 1) for _ in range(heavy)]
    moments.sort()
    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    events = Copier(Event)
    by_identity: dict[int, list[int]] = {}
    for n, (at, identity) in enumerate(moments, start=1):
        kind = rng.choice(kinds)
        row = {
            "id": n,
            "identity_id": identity,
            "occurred_at": at,
            "kind": kind,
            "operation": kind,
            "source": "bench",
            "source_record_id": f"e{n}",
            "ingested_at": at,
            "raw": {"Id": f"e{n}", "Operation": kind, "CreationTime": at.isoformat()},
        }
        if kind.startswith("signin"):
            city = CITIES[homes[identity] if rng.random() < 0.97 else rng.randrange(len(CITIES))]
            row.update(
                ip=f"10.{identity % 250}.{(identity // 250) % 250}.{rng.randint(1, 4)}",
                city=city[0],
                country=city[1],
                latitude=city[2],
                longitude=city[3],
                app="Office 365 Exchange Online",
                user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                succeeded=kind == "signin",
            )
        elif kind.startswith("mail"):
            row.update(
                subject=rng.choice(SUBJECTS).format(n=rng.randint(1000, 99999)),
                target=f"contact{rng.randint(1, 50000)}@partner{rng.randint(1, 500)}.example",
            )
        elif kind == "inbox_rule_created":
            row.update(target=rng.choice(["..", "Invoices", "RSS cleanup", "Move to archive"]))
        events.add(**row)
        by_identity.setdefault(identity, []).append(n)
    events.flush()
    log(f"events: {events.count:,} ({heavy:,} for {HEAVY_UPN}) in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    alerts, alert_events = Copier(Alert), Copier(Alert.events.through)
    severities = ["high"] * 2 + ["medium"] * 4 + ["low"] * 3 + ["informational"]
    alert_moments = sorted(start + timedelta(seconds=rng.uniform(0, 90 * 86400)) for _ in range(args.alerts))
    alerts_of: dict[int, list[int]] = {}
    for n, created in enumerate(alert_moments, start=1):
        identity = 1 if n % (args.alerts // 300 or 1) == 0 else rng.randint(2, args.identities)
        age = now - created
        roll = rng.random()
        if age < timedelta(days=2) or roll < 0.1:
            status = "new"
        elif roll < 0.15:
            status = "in_progress"
        else:
            status = "resolved" if roll < 0.75 else "dismissed"
        closed = status in ("resolved", "dismissed")
        detector = rng.choice(DETECTORS)
        alerts.add(
            id=n,
            detector=detector,
            identity_id=identity,
            title=detector.replace("_", " ").capitalize() + f" ({rng.randint(1, 999)})",
            description="Bench alert.",
            evidence={"count": rng.randint(1, 500), "threshold": 100},
            severity=rng.choice(severities),
            status=status,
            classification=rng.choice(["true_positive", "false_positive", "benign_positive"]) if closed else "",
            assignee_id=rng.choice(analysts) if status != "new" else None,
            dedup_key=f"b{n}",
            event_count=1,
            first_activity_at=created - timedelta(minutes=rng.randint(1, 120)),
            last_activity_at=created,
            created_at=created,
            updated_at=created,
            acknowledged_at=created + timedelta(minutes=30) if status != "new" else None,
            closed_at=created + timedelta(hours=2) if closed else None,
        )
        pool = by_identity.get(identity)
        if pool:
            alert_events.add(id=n, alert_id=n, event_id=rng.choice(pool))
        alerts_of.setdefault(identity, []).append(n)
    alerts.flush()
    alert_events.flush()
    log(f"alerts: {alerts.count:,} in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    investigations = Copier(Investigation)
    links, findings, finding_events = (
        Copier(Investigation.alerts.through),
        Copier(Finding),
        Copier(Finding.events.through),
    )
    actions, steps = Copier(Action), Copier(InvestigationStep)
    closed_statuses = ["remediated", "no_threats_found", "partially_remediated", "failed", "terminated"]
    kinds_of_action = [k for k, _ in Action.Kind.choices]
    open_count = min(1000, args.investigations // 10)
    counters = {"link": 0, "finding": 0, "finding_event": 0, "action": 0, "step": 0}
    for n in range(1, args.investigations + 1):
        is_open = n <= open_count  # open ones on distinct identities (one open per identity)
        identity = n if is_open else rng.randint(1, args.identities)
        created = now - timedelta(hours=rng.uniform(1, 48)) if is_open else start + timedelta(days=rng.uniform(0, 88))
        investigations.add(
            id=n,
            identity_id=identity,
            status=rng.choice(["pending_action"] * 8 + ["running", "queued"])
            if is_open
            else rng.choice(closed_statuses),
            verdict=rng.choice(["compromised", "suspicious", "clean"]),
            risk_score=rng.randrange(100),
            summary="Bench investigation: the playbook's explanation of its verdict would be here.",
            created_at=created,
            queued_at=created,
            started_at=created,
            finished_at=None if is_open else created + timedelta(hours=1),
            updated_at=created,
            window_start=created - timedelta(days=3),
            window_end=created,
            run_count=1,
        )
        for alert_id in rng.sample(alerts_of.get(identity, []) or [1], min(5, len(alerts_of.get(identity, [])) or 1)):
            counters["link"] += 1
            links.add(id=counters["link"], investigation_id=n, alert_id=alert_id)
        pool = by_identity.get(identity, [1])
        for check in ("signins.new_country", "inbox_rules", "forwarding", "sending_volume", "mfa"):
            counters["finding"] += 1
            findings.add(
                id=counters["finding"],
                investigation_id=n,
                check_key=check,
                title=check.replace("_", " ").capitalize(),
                verdict=rng.choice(["malicious", "suspicious", "clean", "clean"]),
                explanation="Bench finding.",
                created_at=created,
            )
            for event_id in rng.sample(pool, min(2, len(pool))):
                counters["finding_event"] += 1
                finding_events.add(id=counters["finding_event"], finding_id=counters["finding"], event_id=event_id)
        for kind in rng.sample(kinds_of_action, 3):
            counters["action"] += 1
            decided = not is_open
            status = (
                rng.choice(["succeeded", "succeeded", "rejected", "failed", "undone"])
                if decided
                else "pending_approval"
            )
            actions.add(
                id=counters["action"],
                investigation_id=n,
                identity_id=identity,
                kind=kind,
                target=f"user{identity:05d}@{DOMAIN}",
                reason="Bench proposal.",
                impact="high" if kind in ("reset_password", "disable_account") else "low",
                status=status,
                requires_second_approval=kind in ("reset_password", "disable_account"),
                approved_by_id=rng.choice(analysts) if decided and status != "rejected" else None,
                approved_at=created + timedelta(minutes=20) if decided and status != "rejected" else None,
                rejected_by_id=rng.choice(analysts) if status == "rejected" else None,
                rejected_at=created + timedelta(minutes=20) if status == "rejected" else None,
                decision_comment="Bench decision." if decided else "",
                idempotency_key=uuid.UUID(int=rng.getrandbits(128)).hex,
                connector="simulated" if decided else "",
                result={"detail": "Done by the simulated tenant."} if status == "succeeded" else {},
                error="403: missing permission" if status == "failed" else "",
                created_at=created,
                finished_at=created + timedelta(minutes=21) if decided else None,
            )
        for step in range(10):
            counters["step"] += 1
            steps.add(
                id=counters["step"],
                investigation_id=n,
                at=created + timedelta(seconds=step),
                level="info",
                message=f"Bench step {step}.",
            )
    for copier in (investigations, links, findings, finding_events, actions, steps):
        copier.flush()
    log(
        f"investigations: {investigations.count:,} with {links.count:,} alert links, {findings.count:,} findings, "
        f"{actions.count:,} actions, {steps.count:,} steps in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (Identity, Event, Alert, Investigation, Finding, Action, InvestigationStep):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        for through in (Alert.events.through, Investigation.alerts.through, Finding.events.through):
            table = through._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    log(f"analyze: {time.perf_counter() - t:.1f} s")
    return {"analysts": analysts}


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
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
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
            analyst = load(args, log)["analysts"][0]
        results = pages(args, analyst)
        print()
        print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'main SQL ms':>12} {'page/SQL':>9}")
        for row in results:
            flag = "" if row["p95"] < 150 else "  over 150 ms"
            print(
                f"{row['name']:38} {row['p50']:8.1f} {row['p95']:8.1f} {row['queries']:8d} "
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

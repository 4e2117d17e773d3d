"""Detection latency and throughput through the real stack: gunicorn, Redis, one Celery worker, PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/air_h2 CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/detect.py [--rate 500 --seconds 120 --steps 750,1000,1500,2000,3000]

1. Starts its own gunicorn and one Celery worker (queue ``detect``, ``--concurrency 1``) on the
   database and broker the environment names (the database is migrated if needed).
2. Posts a sustained ``--rate`` of events per second for ``--seconds`` through the ingest API:
   Entra sign-ins and message trace rows of a few thousand users (``--ticks`` rounds of two
   requests a second: one Graph sign-in page, one message trace page).
   Once a second it also posts one attack (a New-InboxRule hiding invoices in RSS Feeds) for a
   fresh user, and measures the delay from the ingest reply to the alert being visible in the
   database (polled every 50 ms). Prints p50/p95/max.
3. Steps the rate up (``--steps``, ``--step-seconds`` each) and prints the highest rate whose
   delay stays bounded (p95 under 5 s, the queue drained within 15 s of the step's end) while
   the API keeps up.
4. Detection throughput: events per second of the worker's busy time (from its log), and an
   in-process re-run over the stored events showing where the time goes (by phase, SQL vs Python).
Everything it created (events, identities, alerts, queued tasks, processes) is removed at the end.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOMAIN = "bench-detect.airportal.invalid"
BOUND_P95_SECONDS = 5.0
DRAIN_SECONDS = 15.0


# --- load ------------------------------------------------------------------------------------------


class Load:
    """Builds request bodies in Microsoft's formats for a population of ordinary users."""

    def __init__(self, users: int, seed: int = 11):
        self.rng = random.Random(seed)
        self.users = [f"user{n:05d}@{DOMAIN}" for n in range(users)]
        self.ips = {user: f"20.190.{self.rng.randint(128, 191)}.{self.rng.randint(2, 250)}" for user in self.users}
        self.markers = 0

    def signins(self, count: int, now: datetime) -> bytes:
        rows = []
        for _ in range(count):
            user = self.rng.choice(self.users)
            rows.append(
                {
                    "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                    "createdDateTime": (now - timedelta(seconds=self.rng.random())).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "userPrincipalName": user,
                    "userDisplayName": user.split("@")[0],
                    "appDisplayName": "Office 365 Exchange Online",
                    "ipAddress": self.ips[user],
                    "autonomousSystemNumber": 8075,
                    "sessionId": f"{user}-{now:%Y%m%d}",  # one session a user a day, as Entra writes it
                    "clientAppUsed": "Browser",
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/129.0",
                    "riskLevelDuringSignIn": "none",
                    "riskLevelAggregated": "none",
                    "riskState": "none",
                    "status": {"errorCode": 0},
                    "location": {
                        "city": "Seattle",
                        "countryOrRegion": "US",
                        "geoCoordinates": {"latitude": 47.61, "longitude": -122.33},
                    },
                }
            )
        return json.dumps(rows).encode()

    def mail(self, count: int, now: datetime) -> bytes:
        rows = []
        for _ in range(count):
            sender = self.rng.choice(self.users)
            recipient = (
                self.rng.choice(self.users) if self.rng.random() < 0.8 else f"p{self.rng.randint(1, 500)}@fabrikam.com"
            )
            rows.append(
                {
                    "Received": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "SenderAddress": sender,
                    "RecipientAddress": recipient,
                    "Subject": self.rng.choice(["Weekly sync", "Q4 forecast", "Re: contract", "Lunch?"]),
                    "Status": "Delivered",
                    "FromIP": self.ips[sender],
                    "MessageId": f"<{uuid.UUID(int=self.rng.getrandbits(128))}@{DOMAIN}>",
                    "MessageTraceId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                    "Size": 20_000,
                }
            )
        return json.dumps(rows).encode()

    def attack(self, now: datetime, run: str) -> tuple[str, bytes]:
        """A hiding inbox rule for a fresh user: it must raise exactly one alert."""
        self.markers += 1
        user = f"marker-{run}-{self.markers}@{DOMAIN}"
        params = [
            ("Mailbox", user),
            ("Name", ".."),
            ("SubjectOrBodyContainsWords", "invoice;payment"),
            ("MoveToFolder", "RSS Feeds"),
            ("MarkAsRead", "True"),
        ]
        record = {
            "CreationTime": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": str(uuid.uuid4()),
            "Operation": "New-InboxRule",
            "RecordType": 1,
            "ResultStatus": "True",
            "UserId": user,
            "Workload": "Exchange",
            "ClientIP": "102.89.32.18",
            "Parameters": [{"Name": name, "Value": value} for name, value in params],
        }
        return user, json.dumps([record]).encode()


class Poster:
    """Keep-alive HTTP clients posting bodies; one connection per sending thread."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.local = threading.local()
        self.errors = 0

    def post(self, source: str, body: bytes) -> float:
        """Post and return the moment the reply arrived (time.monotonic())."""
        for attempt in range(3):
            try:
                if not hasattr(self.local, "connection"):
                    self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                connection = self.local.connection
                connection.request(
                    "POST",
                    f"/api/v1/ingest/{source}/",
                    body=body,
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                )
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    self.errors += 1
                return time.monotonic()
            except (OSError, http.client.HTTPException):
                self.local.__dict__.pop("connection", None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Visibility:
    """Polls the database every 50 ms for the alerts of pending marker users."""

    def __init__(self, dsn: str):
        import psycopg2

        self.connection = psycopg2.connect(dsn)
        self.connection.autocommit = True
        self.pending: dict[str, float] = {}
        self.delays: list[tuple[float, float]] = []  # (reply moment, delay)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def expect(self, upn: str, replied_at: float) -> None:
        with self.lock:
            self.pending[upn] = replied_at

    def _run(self) -> None:
        cursor = self.connection.cursor()
        while not self.stop.is_set():
            with self.lock:
                waiting = list(self.pending)
            if waiting:
                cursor.execute(
                    "SELECT i.upn FROM alerts_alert a JOIN alerts_identity i ON i.id = a.identity_id "
                    "WHERE i.upn = ANY(%s)",
                    (waiting,),
                )
                seen = time.monotonic()
                with self.lock:
                    for (upn,) in cursor.fetchall():
                        replied = self.pending.pop(upn, None)
                        if replied is not None:
                            self.delays.append((replied, seen - replied))
            time.sleep(0.05)

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return True
            time.sleep(0.1)
        return False

    def take(self) -> list[float]:
        with self.lock:
            delays, self.delays = [delay for _, delay in self.delays], []
            self.pending.clear()
        return delays


def run_rate(load: Load, poster: Poster, seen: Visibility, *, rate: int, seconds: int, run: str, ticks: int) -> dict:
    """Post ``rate`` events/s for ``seconds`` in ``ticks`` rounds a second, plus one attack a second."""
    per_tick = max(1, rate // ticks)
    started = time.monotonic()
    sent = 0
    late = 0.0
    senders: list[threading.Thread] = []
    for tick in range(seconds * ticks):
        due = started + tick / ticks
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            late = max(late, -pause)
        now = datetime.now(UTC)
        signins = per_tick * 6 // 10
        bodies = [("entra-signins", load.signins(signins, now)), ("message-trace", load.mail(per_tick - signins, now))]
        if tick % ticks == 0:
            upn, body = load.attack(now, run)
            thread = threading.Thread(
                target=lambda upn=upn, body=body: seen.expect(upn, poster.post("o365-audit", body))
            )
            thread.start()
            senders.append(thread)
        for source, body in bodies:
            thread = threading.Thread(target=poster.post, args=(source, body))
            thread.start()
            senders.append(thread)
        sent += per_tick
        senders = [t for t in senders if t.is_alive()]
        if len(senders) > 64:  # the API is not keeping up: wait instead of piling up threads
            senders[0].join()
    for thread in senders:
        thread.join()
    elapsed = time.monotonic() - started
    drained = seen.drain(DRAIN_SECONDS)
    delays = sorted(seen.take())
    return {
        "rate": rate,
        "achieved": sent / elapsed,
        "drained": drained,
        "delays": delays,
        "p50": statistics.median(delays) if delays else float("inf"),
        "p95": delays[int(0.95 * (len(delays) - 1))] if delays else float("inf"),
        "max": delays[-1] if delays else float("inf"),
        "late": late,
    }


def describe(result: dict) -> str:
    return (
        f"{result['rate']:>5} ev/s target, {result['achieved']:.0f} achieved: delay p50 {result['p50']:.2f} s, "
        f"p95 {result['p95']:.2f} s, max {result['max']:.2f} s over {len(result['delays'])} attacks"
        + ("" if result["drained"] else ", NOT drained")
    )


def bounded(result: dict) -> bool:
    return result["drained"] and result["p95"] <= BOUND_P95_SECONDS and result["achieved"] >= 0.95 * result["rate"]


# --- where the time goes ---------------------------------------------------------------------------


def worker_throughput(log: str) -> tuple[int, float]:
    """(events, busy seconds) from the worker log: our summary lines and Celery's 'succeeded in'."""
    events = sum(int(n) for n in re.findall(r"detect_batch \d+: (\d+) events", log))
    seconds = sum(float(s) for s in re.findall(r"alerts\.detect_batch\[[^\]]+\] succeeded in ([0-9.]+)s", log))
    return events, seconds


def profile_in_process(batch: int, limit: int) -> None:
    """Re-run detection over the latest stored bench events in-process and show where the time goes."""
    from alerts.models import Event

    ids = list(
        Event.objects.filter(identity__upn__endswith=f"@{DOMAIN}").order_by("-id").values_list("id", flat=True)[:limit]
    )
    ids.reverse()
    profile_batches([ids[start : start + batch] for start in range(0, len(ids), batch)])


PROFILED_PHASES = ("baselines_update", "context_load", "run_detector", "alerts_raise")


def profile_batches(batches: list[list[int]]) -> None:
    """Judge ``batches`` of stored events in-process, one ``detect_events`` each, and show where the
    time goes: per phase of ``detect_events``, SQL against Python, the tasks sent after commit,
    and how the first batches compare with the last (a cost that grows with the alerts raised).

    Each phase is wrapped with a timer (no profiler: its overhead would distort Python against
    SQL), and every query is timed through ``execute_wrapper``.
    """
    from django.db import connection

    from airportal import dispatch
    from alerts import detection

    sql = {"seconds": 0.0, "queries": 0}
    phases: dict[str, list[float]] = {}
    current: list[str] = []

    def timed(execute, query, params, many, context):
        start = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            spent = time.perf_counter() - start
            sql["seconds"] += spent
            sql["queries"] += 1
            if current:
                phases[current[-1]][1] += spent

    def wrap(module, name, label):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            phases.setdefault(label, [0.0, 0.0])
            current.append(label)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[label][0] += time.perf_counter() - start
                current.pop()

        setattr(module, name, wrapper)
        return module, name, original

    originals = [wrap(detection, name, name) for name in PROFILED_PHASES]
    originals.append(wrap(dispatch, "task_send", "task_send (after commit)"))
    per_batch: list[tuple[float, int, int, int]] = []  # (seconds, queries, alerts created, alerts folded)
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(timed):
            for ids in batches:
                began, queries = time.perf_counter(), sql["queries"]
                result = detection.detect_events(event_ids=ids)
                per_batch.append(
                    (time.perf_counter() - began, sql["queries"] - queries, result.alerts_created, result.alerts_folded)
                )
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    elapsed = time.perf_counter() - started
    events = sum(len(ids) for ids in batches)
    print(
        f"in-process detection: {events} events in {len(batches)} batches: {elapsed:.2f} s = "
        f"{events / elapsed:.0f} events/s; SQL {sql['seconds']:.2f} s in {sql['queries']} queries "
        f"({sql['seconds'] / elapsed:.0%}); alerts {sum(b[2] for b in per_batch)} created, "
        f"{sum(b[3] for b in per_batch)} folded (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    for name, (total, in_sql) in sorted(phases.items(), key=lambda item: -item[1][0]):
        print(f"  {name:<24} {total:6.2f} s ({total / elapsed:.0%}), of which SQL {in_sql:.2f} s", flush=True)
    tenth = max(1, len(per_batch) // 10)
    for label, part in (("first", per_batch[:tenth]), ("last", per_batch[-tenth:])):
        print(
            f"  {label} {len(part)} batches: {statistics.mean(b[0] for b in part):.2f} s, "
            f"{statistics.mean(b[1] for b in part):.0f} queries, {statistics.mean(b[2] + b[3] for b in part):.0f} "
            "alerts raised or folded a batch",
            flush=True,
        )


# --- processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


def start_worker(env: dict, concurrency: int, log_path: str) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - closed when the process ends
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "airportal",
            "worker",
            "-Q",
            "detect",
            "--concurrency",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            "-n",
            f"bench-detect-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "INFO"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while " ready." not in Path(log_path).read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start:\n" + Path(log_path).read_text()[-2000:])
        time.sleep(0.2)
    return process


def purge_queues() -> None:
    from django.conf import settings

    from airportal.celery import app

    with app.connection_for_write() as connection:
        for queue in settings.CELERY_TASK_QUEUES:
            with contextlib.suppress(Exception):  # a queue that does not exist yet is empty
                connection.default_channel.queue_purge(queue.name)


def cleanup() -> None:
    from alerts.models import Identity

    Identity.objects.filter(upn__endswith=f"@{DOMAIN}").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=500, help="events per second of the sustained run")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--steps", default="750,1000,1500,2000,3000", help="rates to try next, comma-separated")
    parser.add_argument("--step-seconds", type=int, default=40)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument(
        "--ticks", type=int, default=2, help="rounds of requests a second (one sign-in and one trace body each)"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes of the one Celery worker")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--profile-events", type=int, default=20000)
    args = parser.parse_args()

    dsn = os.environ.get("DATABASE_URL", "")
    if not dsn.startswith("postgres") or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        raise SystemExit("bench/detect.py needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
    var_dir = tempfile.mkdtemp(prefix="air-bench-detect-")
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "AIRPORTAL_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "airportal.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from airportal.roles import Role
    from airportal.services import user_get_or_create
    from airportal.tokens import api_token_create, api_token_revoke

    call_command("migrate", verbosity=0)
    cleanup()
    purge_queues()
    user, _ = user_get_or_create(username="bench-detect", role=Role.INGEST)
    token, raw_token = api_token_create(user=user, name="bench-detect")
    port = free_port()
    worker_log = str(Path(var_dir) / "worker.log")
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "airportal.wsgi",
            "-w",
            str(args.gunicorn_workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    worker = None
    seen = None
    try:
        wait_for_port(port, gunicorn, "gunicorn")
        worker = start_worker(env, args.concurrency, worker_log)
        load, poster, seen = Load(args.users), Poster(port, raw_token), Visibility(dsn)
        print(
            f"stack: gunicorn x{args.gunicorn_workers}, one Celery worker (concurrency {args.concurrency}, "
            f"queue detect), PostgreSQL, Redis; {args.users} users, {args.ticks} rounds of requests a second",
            flush=True,
        )
        run = uuid.uuid4().hex[:6]
        sustained = run_rate(load, poster, seen, rate=args.rate, seconds=args.seconds, run=run, ticks=args.ticks)
        print("sustained: " + describe(sustained), flush=True)
        best = sustained if bounded(sustained) else None
        for rate in [int(r) for r in args.steps.split(",") if r.strip()]:
            result = run_rate(load, poster, seen, rate=rate, seconds=args.step_seconds, run=run, ticks=args.ticks)
            print("step:      " + describe(result), flush=True)
            if not bounded(result):
                break
            best = result
        events, busy = worker_throughput(Path(worker_log).read_text(errors="replace"))
        if busy:
            print(
                f"worker: {events} events in {busy:.1f} s busy = {events / busy:.0f} events/s of detection", flush=True
            )
        if poster.errors:
            print(f"ingest API errors: {poster.errors}", flush=True)
    finally:
        if seen is not None:
            seen.stop.set()
        for process in (gunicorn, worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, 15)
                process.wait(timeout=60)
    profile_in_process(batch=2000, limit=args.profile_events)
    purge_queues()
    cleanup()
    api_token_revoke(token=token, actor=None)
    subprocess.run(["rm", "-rf", var_dir], check=False)
    if best is None:
        print(f"detect: {args.rate} ev/s is not sustainable here (p95 {sustained['p95']:.2f} s)")
    else:
        print(
            f"detect: sustained {args.rate} ev/s with p95 {sustained['p95']:.2f} s (p50 {sustained['p50']:.2f} s); "
            f"highest bounded rate {best['rate']} ev/s (p95 {best['p95']:.2f} s)"
        )


if __name__ == "__main__":
    main()

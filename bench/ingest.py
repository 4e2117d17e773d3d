"""Ingest throughput against PostgreSQL's own COPY, and the CLI's peak memory on a large file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/airportal .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --records 200000 --memory-gb 1

1. Generates N realistic, mixed ``o365-audit`` records (sign-ins, failed sign-ins, mail access,
   sending, inbox rules, forwarding, delegation, MFA and consent changes, other operations)
   for a few thousand users, as request bodies of 5,000 records.
2. Starts its own gunicorn (2 workers) on the database ``DATABASE_URL`` names (migrated if
   needed) and posts the bodies through ``/api/v1/ingest/o365-audit/`` from 2 client threads.
3. COPYs the very rows that were stored into an empty copy of the events table (same columns,
   indexes and constraints) and times that.
4. With ``--memory-gb``, writes an NDJSON file of that size under /tmp, runs
   ``manage.py ingest`` on it and reports the peak RSS of that process.
Everything it created (events, identities, gunicorn, files) is removed and its API token revoked;
the ``bench-ingest`` user and the audit rows about it stay (the audit log is append-only). The last line reads
``ingest: <api> records/s, copy <copy> rows/s, ratio <api/copy>``.
"""

import argparse
import http.client
import io
import json
import os
import random
import resource
import socket
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
DOMAIN = "bench.airportal.invalid"
BATCH = 5000


def generate(count: int, seed: int = 7):
    """Yield ``count`` audit records, shaped like the Management Activity API's."""
    rng = random.Random(seed)
    users = [f"user{n:05d}@{DOMAIN}" for n in range(3000)]
    start = datetime(2024, 3, 1, tzinfo=UTC)
    user_agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36"
    )
    for n in range(count):
        user = rng.choice(users)
        when = (start + timedelta(seconds=n * 3)).strftime("%Y-%m-%dT%H:%M:%S")
        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        rid = str(uuid.UUID(int=rng.getrandbits(128)))
        base = {
            "CreationTime": when,
            "Id": rid,
            "OrganizationId": "9f1c2d3e-0000-4000-8000-000000000001",
            "UserKey": user,
            "UserId": user,
            "Version": 1,
        }
        roll = rng.random()
        if roll < 0.55:
            failed = roll >= 0.45
            base.update(
                Operation="UserLoginFailed" if failed else "UserLoggedIn",
                RecordType=15,
                Workload="AzureActiveDirectory",
                ResultStatus="Success",
                ClientIP=f"{ip}:{rng.randint(1024, 65535)}",
                ObjectId="00000003-0000-0ff1-ce00-000000000000",
                IntraSystemId=rid,
                InterSystemsId=str(uuid.UUID(int=rng.getrandbits(128))),
                ApplicationId="89bee1f7-5e6e-4d8a-9f3d-ecd601259da7",
                ErrorNumber="50126" if failed else "0",
                ExtendedProperties=[
                    {"Name": "ResultStatusDetail", "Value": "Success"},
                    {"Name": "UserAgent", "Value": user_agent},
                    {"Name": "RequestType", "Value": "OAuth2:Authorize"},
                    {"Name": "KeepMeSignedIn", "Value": "True"},
                ],
                DeviceProperties=[{"Name": "OS", "Value": "Windows 10"}, {"Name": "BrowserType", "Value": "Edge"}],
                Actor=[{"ID": user, "Type": 5}],
                Target=[{"ID": "00000003-0000-0ff1-ce00-000000000000", "Type": 0}],
            )
        elif roll < 0.72:
            base.update(
                Operation="MailItemsAccessed",
                RecordType=50,
                Workload="Exchange",
                ResultStatus="Succeeded",
                ClientIPAddress=ip,
                MailboxOwnerUPN=user,
                ClientInfoString="Client=OWA;Action=ViaProxy",
                OperationProperties=[
                    {"Name": "MailAccessType", "Value": "Bind"},
                    {"Name": "IsThrottled", "Value": "False"},
                ],
                Folders=[
                    {
                        "Path": "\\Inbox",
                        "FolderItems": [
                            {"InternetMessageId": f"<{n}.{k}@{DOMAIN}>", "SizeInBytes": 4000} for k in range(3)
                        ],
                    }
                ],
                OperationCount=3,
            )
        elif roll < 0.87:
            base.update(
                Operation=rng.choice(["Send", "SendAs"]),
                RecordType=2,
                Workload="Exchange",
                ResultStatus="Succeeded",
                ClientIPAddress=ip,
                MailboxOwnerUPN=user,
                Item={
                    "Subject": rng.choice(["Invoice", "Re: meeting", "Payment details", "Weekly report"]),
                    "InternetMessageId": f"<{rid}@{DOMAIN}>",
                    "SizeInBytes": 23456,
                },
            )
        elif roll < 0.90:
            base.update(
                Operation="New-InboxRule",
                RecordType=1,
                Workload="Exchange",
                ResultStatus="True",
                ClientIP=f"{ip}:443",
                ObjectId=f"EURPR07A010.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{DOMAIN}/{rid}\\rule",
                Parameters=[
                    {"Name": "Name", "Value": "."},
                    {"Name": "ForwardTo", "Value": "drop@evil.example"},
                    {"Name": "SubjectContainsWords", "Value": "invoice;payment;wire"},
                    {"Name": "MoveToFolder", "Value": "RSS Feeds"},
                    {"Name": "MarkAsRead", "Value": "True"},
                    {"Name": "StopProcessingRules", "Value": "True"},
                ],
            )
        elif roll < 0.91:
            base.update(
                Operation="Set-Mailbox",
                RecordType=1,
                Workload="Exchange",
                ClientIP=ip,
                Parameters=[
                    {"Name": "Identity", "Value": user},
                    {"Name": "ForwardingSmtpAddress", "Value": "smtp:out@evil.example"},
                    {"Name": "DeliverToMailboxAndForward", "Value": "True"},
                ],
            )
        elif roll < 0.92:
            base.update(
                Operation="Add-MailboxPermission",
                RecordType=1,
                Workload="Exchange",
                ClientIP=ip,
                Parameters=[
                    {"Name": "Identity", "Value": rng.choice(users)},
                    {"Name": "User", "Value": user},
                    {"Name": "AccessRights", "Value": "FullAccess"},
                ],
            )
        elif roll < 0.93:
            base.update(
                Operation="Update user.",
                RecordType=8,
                Workload="AzureActiveDirectory",
                ObjectId=user,
                ModifiedProperties=[
                    {
                        "Name": "StrongAuthenticationMethod",
                        "NewValue": '[{"MethodType":6,"Default":true}]',
                        "OldValue": "[]",
                    }
                ],
            )
        elif roll < 0.94:
            base.update(
                Operation="Consent to application.",
                RecordType=8,
                Workload="AzureActiveDirectory",
                ObjectId="app",
                ModifiedProperties=[
                    {
                        "Name": "ConsentAction.Permissions",
                        "NewValue": "[[Scope: Mail.Read offline_access, ]]",
                        "OldValue": "",
                    },
                    {"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
                ],
                Target=[{"ID": "Mail Helper", "Type": 1}],
            )
        else:
            base.update(
                Operation=rng.choice(
                    ["FileAccessed", "FileDownloaded", "MessageCreatedHasLink", "SearchQueryPerformed"]
                ),
                RecordType=6,
                Workload="SharePoint",
                ClientIP=ip,
                ObjectId=f"https://{DOMAIN}/sites/x/doc{n}.docx",
                UserAgent=user_agent,
            )
        yield base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post_all(port: int, token: str, bodies: list[bytes], threads: int = 2) -> tuple[float, int]:
    created = [0]
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop(0)
            connection.request(
                "POST",
                "/api/v1/ingest/o365-audit/",
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Content-Length": str(len(body)),
                },
            )
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                raise SystemExit(f"ingest API answered {response.status}: {payload[:500]!r}")
            with lock:
                created[0] += json.loads(payload)["created"]

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, created[0]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def _copy_rate(connection, event_ids_sql: str) -> tuple[float, int]:
    """COPY the stored rows into an empty copy of the events table; rows per second."""
    from alerts.models import Event

    table = Event._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor
        buffer = io.StringIO()
        columns = ", ".join(f.column for f in Event._meta.concrete_fields if not f.primary_key)
        raw.copy_expert(f"COPY (SELECT {columns} FROM {table} WHERE {event_ids_sql}) TO STDOUT", buffer)
        rows = buffer.getvalue().count("\n")
        buffer.seek(0)
        cursor.execute(
            f"DROP TABLE IF EXISTS bench_event_copy; CREATE TABLE bench_event_copy (LIKE {table} INCLUDING ALL)"
        )
        started = time.perf_counter()
        raw.copy_expert(f"COPY bench_event_copy ({columns}) FROM STDIN", buffer)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_event_copy")
    return elapsed, rows


def _peak_rss_of_cli(size_gb: float, env: dict) -> tuple[float, int, float]:
    """Peak RSS (MB) of ``manage.py ingest`` on an NDJSON file of ``size_gb`` GB, records, seconds."""
    target = int(size_gb * 1024**3)
    handle = tempfile.NamedTemporaryFile("w", prefix="air-bench-", suffix=".ndjson", dir="/tmp", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    written = records = 0
    try:
        with handle:
            for record in generate(10**9, seed=11):
                line = json.dumps(record) + "\n"
                handle.write(line)
                written += len(line)
                records += 1
                if written >= target:
                    break
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "ingest", "--source", "o365-audit", str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
        print(result.stdout.strip().splitlines()[-1], flush=True)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return peak_kb / 1024, records, elapsed
    finally:
        path.unlink(missing_ok=True)


def _cleanup() -> None:
    from alerts.models import Identity

    Identity.objects.filter(upn__endswith=f"@{DOMAIN}").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--memory-gb", type=float, default=0.0, help="also measure manage.py ingest on a file this big")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("bench/ingest.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    var_dir = tempfile.mkdtemp(prefix="air-bench-var-")
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
    from django.db import connection

    from airportal.roles import Role
    from airportal.services import user_get_or_create
    from airportal.tokens import api_token_create, api_token_revoke

    call_command("migrate", verbosity=0)
    _cleanup()
    user, _ = user_get_or_create(username="bench-ingest", role=Role.INGEST)
    token, raw_token = api_token_create(user=user, name="bench")
    print(f"generating {args.records} records…", flush=True)
    records = list(generate(args.records))
    bodies = [json.dumps(records[i : i + BATCH]).encode() for i in range(0, len(records), BATCH)]
    megabytes = sum(map(len, bodies)) / 1e6
    del records

    port = _free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "airportal.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_for(port, gunicorn)
        elapsed, created = _post_all(port, raw_token, bodies)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    api_rate = args.records / elapsed
    print(f"API: {args.records} records ({megabytes:.0f} MB JSON) in {elapsed:.1f} s, created {created}", flush=True)

    from alerts.models import Identity

    identity_ids = list(Identity.objects.filter(upn__endswith=f"@{DOMAIN}").values_list("id", flat=True))
    copy_elapsed, copied = _copy_rate(connection, f"identity_id IN ({','.join(map(str, identity_ids)) or 'NULL'})")
    copy_rate = copied / copy_elapsed
    print(f"COPY: {copied} rows in {copy_elapsed:.1f} s", flush=True)
    _cleanup()

    if args.memory_gb:
        peak, count, seconds = _peak_rss_of_cli(args.memory_gb, env)
        print(
            f"manage.py ingest: {args.memory_gb:g} GB NDJSON, {count} records in {seconds:.0f} s, "
            f"peak RSS {peak:.0f} MB",
            flush=True,
        )
        _cleanup()
    api_token_revoke(token=token, actor=None)  # the bench user stays: the audit log names it
    subprocess.run(["rm", "-rf", var_dir], check=False)
    print(f"ingest: {api_rate:.0f} records/s, copy {copy_rate:.0f} rows/s, ratio {api_rate / copy_rate:.2f}")


if __name__ == "__main__":
    main()

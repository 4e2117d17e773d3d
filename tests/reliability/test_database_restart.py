"""PostgreSQL restarted under the ingest API: an error for the batch in flight, never a 200 with part of it.

The app (gunicorn) runs on a PRIVATE PostgreSQL cluster started here, which the test restarts
with ``pg_ctl restart -m fast`` (every session terminated, open transactions rolled back); the
shared PostgreSQL of the other tests is never touched.
"""

import http.client
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from tests.conftest import wait_until
from tests.reliability.services import PrivatePostgres, WebServer, app_env, manage, postgres_bin

pytestmark = [pytest.mark.slow]
RECORDS = 20_000  # four ingest batches of 5,000: the restart lands after the first one
USERS = 400
DOMAIN = "restart.contoso.com"


def audit_records(count: int, *, seed: int) -> list[dict]:
    """Office 365 audit records (sign-ins and sent mail), one stored event each."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    records = []
    for n in range(count):
        user = f"user{rng.randrange(USERS):04d}@{DOMAIN}"
        base = {
            "CreationTime": (start + timedelta(seconds=n * 2)).strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": str(uuid.UUID(int=rng.getrandbits(128))),
            "OrganizationId": "4a1c6f9e-2d7b-4c51-9a43-8f3e0b6d2c10",
            "UserId": user,
            "UserKey": user,
            "UserType": 0,
            "Version": 1,
        }
        if n % 3:
            base.update(
                Operation="UserLoggedIn",
                RecordType=15,
                Workload="AzureActiveDirectory",
                ResultStatus="Success",
                ClientIP=f"20.190.151.{rng.randint(2, 250)}",
                ExtendedProperties=[{"Name": "UserAgent", "Value": "Mozilla/5.0 (Windows NT 10.0)"}],
            )
        else:
            base.update(
                Operation="Send",
                RecordType=2,
                Workload="Exchange",
                ResultStatus="Succeeded",
                ClientIPAddress=f"20.190.151.{rng.randint(2, 250)}",
                MailboxOwnerUPN=user,
                Item={"Id": str(n), "Subject": "Weekly sync", "InternetMessageId": f"<{n}@{DOMAIN}>"},
            )
        records.append(base)
    return records


class App:
    """The web app on the private cluster, with an ingest token and a direct SQL connection for checks."""

    def __init__(self, cluster: PrivatePostgres, web: WebServer, token: str):
        self.cluster, self.web, self.token = cluster, web, token

    def post(self, body: bytes, *, timeout: float = 120) -> tuple[int, dict | str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.web.port, timeout=timeout)
        try:
            conn.request(
                "POST",
                "/api/v1/ingest/o365-audit/",
                body=body,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, payload[:300].decode(errors="replace")

    def sql(self, query: str, params=()) -> list[tuple]:
        conn = psycopg2.connect(host="127.0.0.1", port=self.cluster.port, user="postgres", dbname="airportal")
        try:
            with conn.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()
        finally:
            conn.close()

    def events(self) -> tuple[int, int]:
        """(events, distinct source record ids) of the o365-audit source."""
        return self.sql(
            "SELECT count(*), count(DISTINCT source_record_id) FROM alerts_event WHERE source = 'o365-audit'"
        )[0]


@pytest.fixture(scope="module")
def app_on_private_postgres():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("needs PostgreSQL's initdb and pg_ctl (Debian: /usr/lib/postgresql/*/bin) for a private cluster")
    cluster = PrivatePostgres(bindir)
    var_dir = tempfile.mkdtemp(prefix="airportal-var-")
    web = None
    try:
        cluster.init()
        cluster.start()
        # No worker: detection tasks wait in a filesystem broker; this test is about the ingest request.
        env = app_env(database_url=cluster.create_database(), broker_url="filesystem://localhost//", var_dir=var_dir)
        manage(env, "migrate", "--noinput")
        token = manage(env, "createapitoken", "restart-ingest", "--role", "ingest").strip().splitlines()[-1]
        web = WebServer(env, threads=4)
        web.start()
        yield App(cluster, web, token)
    finally:
        if web is not None:
            web.stop()
        cluster.remove()
        shutil.rmtree(var_dir, ignore_errors=True)


def _ingest_in_flight(app: App) -> bool:
    """The web's session has inserted a batch of events inside the request's transaction."""
    rows = app.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'airportal' AND pid <> pg_backend_pid() "
        "AND state IN ('active', 'idle in transaction') AND query LIKE 'INSERT INTO \"alerts_event\"%%'"
    )
    return rows[0][0] > 0


def test_a_restart_during_a_large_ingest_fails_the_request_and_its_retry_stores_each_record_once(
    app_on_private_postgres,
):
    app = app_on_private_postgres
    records = audit_records(RECORDS, seed=1)
    body = json.dumps(records).encode()
    answer: dict = {}

    def send():
        started = time.monotonic()
        try:
            answer["status"], answer["body"] = app.post(body)
        except (OSError, http.client.HTTPException) as exc:  # a dropped connection is an error too
            answer["status"], answer["body"] = None, repr(exc)
        answer["seconds"] = time.monotonic() - started

    client = threading.Thread(target=send)
    client.start()
    wait_until(lambda: _ingest_in_flight(app) or not client.is_alive(), timeout=120, interval=0.02)
    assert client.is_alive(), f"the ingest finished before the restart: {answer}"
    app.cluster.restart()
    restarted_at = time.monotonic()
    client.join(timeout=120)
    failed_after = time.monotonic() - restarted_at

    assert not client.is_alive(), "the request in flight hung after the restart"
    print(
        f"\nin-flight request: {answer['status']} after {answer['seconds']:.1f} s "
        f"({failed_after:.1f} s after the restart): {str(answer['body'])[:120]}"
    )
    assert answer["status"] is None or answer["status"] >= 500, answer  # an error, never a 200 with part of it
    assert time.monotonic() - restarted_at < 60
    # The body is one transaction: nothing of it was kept, no identity without its events.
    assert app.events() == (0, 0)
    assert app.sql("SELECT count(*) FROM alerts_identity") == [(0,)]

    status, result = app.post(body)  # the client's retry of the same body
    assert status == 200, result
    assert (result["received"], result["created"], result["duplicates"], result["rejected"]) == (
        RECORDS,
        RECORDS,
        0,
        [],
    )
    assert app.events() == (RECORDS, RECORDS)
    status, again = app.post(body)  # and once more: every record is a duplicate
    assert status == 200 and (again["created"], again["duplicates"]) == (0, RECORDS)
    assert app.events() == (RECORDS, RECORDS)
    users = {r["UserId"] for r in records}
    assert app.sql("SELECT count(*) FROM alerts_identity") == [(len(users),)]
    without_events = (
        "SELECT count(*) FROM alerts_identity i "
        "WHERE NOT EXISTS (SELECT 1 FROM alerts_event e WHERE e.identity_id = i.id)"
    )
    assert app.sql(without_events) == [(0,)]


def test_connections_broken_by_a_restart_between_requests_are_replaced_without_an_error(app_on_private_postgres):
    """Persistent connections (CONN_MAX_AGE) died with the restart; the health check replaces them."""
    app = app_on_private_postgres
    batches = [json.dumps(audit_records(5, seed=100 + n)).encode() for n in range(16)]
    for body in batches[:8]:  # every gunicorn thread holds a connection now
        assert app.post(body)[0] == 200
    app.cluster.restart()

    statuses = [app.post(body)[0] for body in batches[8:]]

    assert statuses == [200] * 8

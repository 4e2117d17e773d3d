"""Console reads on a real PostgreSQL streaming replica, lag included (``airportal.replica``).

The module starts a second cluster on this machine with Debian's tools (``pg_createcluster``,
``pg_basebackup -R`` from the primary the suite runs on, ``pg_ctlcluster``), points a ``replica``
alias at the suite's test database there, and removes the cluster afterwards. Replay is paused
with ``pg_wal_replay_pause()`` to make the replica lag on purpose.
"""

import os
import shutil
import subprocess
import time

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airportal.audit import audit_record
from airportal.replica import REPLICA, REPLICA_PIN_COOKIE, ReplicaRouter
from alerts.models import Alert
from tests.conftest import wait_until
from tests.factories import AlertFactory

CLUSTER = "airportal_replica_test"
PORT = int(os.environ.get("AIRPORTAL_TEST_REPLICA_PORT", "5439"))
QUEUE = reverse("alerts:alert_list")


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=300)


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A streaming replica of the primary, its ``replica`` alias configured while the module runs."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL: a streaming replica of DATABASE_URL's server is started")
        primary = connection.settings_dict
        version = str(connection.pg_version // 10000)
        with connection.cursor() as cursor:
            cursor.execute("SHOW hba_file")
            hba_file = cursor.fetchone()[0]
    if not shutil.which("pg_createcluster") or not shutil.which("pg_basebackup"):
        pytest.skip("needs Debian's postgresql-common (pg_createcluster) and pg_basebackup")
    if os.geteuid() != 0:
        pytest.skip("needs root to create a PostgreSQL cluster with pg_createcluster")
    _run("pg_dropcluster", "--stop", version, CLUSTER, check=False)  # a leftover of an interrupted run
    _run("pg_createcluster", version, CLUSTER, "-p", str(PORT))
    data = f"/var/lib/postgresql/{version}/{CLUSTER}"
    # The replica lets in whoever the primary lets in (same roles, same rules).
    shutil.copyfile(hba_file, f"/etc/postgresql/{version}/{CLUSTER}/pg_hba.conf")
    try:
        for entry in os.listdir(data):  # pg_basebackup wants the (postgres-owned) directory empty
            path = os.path.join(data, entry)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        backup = _run(
            *_as_postgres("pg_basebackup", "-h", primary["HOST"] or "127.0.0.1", "-p", str(primary["PORT"] or 5432)),
            *("-U", primary["USER"] or "postgres", "-D", data, "-R", "-X", "stream", "--checkpoint=fast"),
            check=False,
        )
        if backup.returncode:
            pytest.skip(
                f"pg_basebackup failed: {backup.stderr.strip()} (a refused connection needs a line like "
                "'host replication postgres 127.0.0.1/32 trust' in the primary's pg_hba.conf)"
            )
        _run("pg_ctlcluster", version, CLUSTER, "start")
        alias = {**primary, "PORT": PORT, "TEST": {**primary.get("TEST", {}), "MIRROR": "default"}}
        connections.settings[REPLICA] = alias
        settings.DATABASES[REPLICA] = alias
        with django_db_blocker.unblock():
            wait_until(_replica_answers, timeout=60)
        yield connections[REPLICA]
    finally:
        if REPLICA in connections.settings:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]
            settings.DATABASES.pop(REPLICA, None)
        _run("pg_dropcluster", "--stop", version, CLUSTER, check=False)


def _replica_answers() -> bool:
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            return cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - still starting
        connections[REPLICA].close()
        return False


def _replay(action: str) -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(f"SELECT pg_wal_replay_{action}()")


def _on_replica(alert_id: int) -> bool:
    return Alert.objects.using(REPLICA).filter(pk=alert_id).exists()


@pytest.fixture
def lagging(replica):
    """Replay resumed again however the test ends."""
    yield replica
    _replay("resume")


pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


def test_the_alert_queue_reads_from_the_replica(replica, analyst_client):
    alert = AlertFactory(title="Replica alert one")
    wait_until(lambda: _on_replica(alert.pk))
    with CaptureQueriesContext(replica) as on_replica:
        page = analyst_client.get(QUEUE)
    assert b"Replica alert one" in page.content
    assert any("alerts_alert" in query["sql"] for query in on_replica.captured_queries)


def test_a_lagging_replica_hides_new_rows_until_the_browser_writes(lagging, analyst_client, analyst):
    first = AlertFactory(title="Replica alert one")
    wait_until(lambda: _on_replica(first.pk))
    _replay("pause")
    second = AlertFactory(title="Replica alert two")  # committed on the primary, not replayed
    time.sleep(0.5)
    assert not _on_replica(second.pk)
    assert b"Replica alert two" not in analyst_client.get(QUEUE).content, "the queue reads the lagging replica"

    triaged = analyst_client.post(reverse("alerts:alert_triage"), {"alert": [first.pk], "operation": "assign"})
    assert triaged.status_code in (200, 302) and REPLICA_PIN_COOKIE in triaged.cookies
    assert Alert.objects.get(pk=first.pk).assignee_id == analyst.pk
    with CaptureQueriesContext(lagging) as on_replica:
        page = analyst_client.get(QUEUE)
    assert b"Replica alert two" in page.content, "after a write, this browser reads the primary"
    assert not [q for q in on_replica.captured_queries if "alerts_alert" in q["sql"]]

    analyst_client.cookies.pop(REPLICA_PIN_COOKIE)  # the pin has run out
    assert b"Replica alert two" not in analyst_client.get(QUEUE).content
    _replay("resume")
    wait_until(lambda: _on_replica(second.pk))
    assert b"Replica alert two" in analyst_client.get(QUEUE).content


def test_detail_pages_and_exports_choose_their_database(lagging, client, manager):
    client.force_login(manager)
    alert = AlertFactory(title="Replica alert one")
    wait_until(lambda: _on_replica(alert.pk))
    _replay("pause")
    audit_record(actor=None, verb="replica.lag_probe", summary="written while the replica lags")
    export = b"".join(client.get(reverse("audit_export")).streaming_content)
    assert b"replica.lag_probe" not in export, "a streamed export reads the replica while it is sent"
    fresh = AlertFactory(title="Replica alert fresh")
    page = client.get(reverse("alerts:alert_detail", args=[fresh.pk]))
    assert page.status_code == 200 and b"Replica alert fresh" in page.content, "detail pages read the primary"


def test_tasks_and_commands_read_the_primary(replica):
    assert ReplicaRouter().db_for_read(Alert) == "default"

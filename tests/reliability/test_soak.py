"""The soak: sustained mixed ingest, detection, investigations and approvals through a real web
process (gunicorn) and a real Celery worker; their memory stays flat and no task is lost.

``AIRPORTAL_SOAK_SECONDS`` (default 60) is how long load is applied; a new round (one tenant's
demo day, see ``tests/reliability/soak.py``) starts every ``AIRPORTAL_SOAK_ROUND_SECONDS``
(default 6). Figures are printed (run with ``-s``); docs/reliability.md has measured ones.
"""

import os
import threading
import time

import pytest
from django.db.models import Q

from airportal.celery import app
from airportal.tokens import api_token_create
from alerts.models import Alert, Event, Severity
from investigations.models import Action, Finding, Investigation
from tests.reliability.conftest import database_url_of_this_run
from tests.reliability.services import WebServer, app_env, process_group
from tests.reliability.soak import (
    ATTACKED,
    SOURCES,
    TENANTS,
    Api,
    Ledger,
    MemorySamples,
    approve_pending,
    ingest_round,
    tenant_domain,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow]
SOAK_SECONDS = float(os.environ.get("AIRPORTAL_SOAK_SECONDS", "60"))
ROUND_SECONDS = float(os.environ.get("AIRPORTAL_SOAK_ROUND_SECONDS", "6"))
WARM_UP = 0.4  # share of the soak after which memory must stay flat
# Allowed RSS growth after warm-up, per process kind: the larger of these MiB and this share.
GROWTH_MIB, GROWTH_SHARE = 40, 0.15
DRAIN_SECONDS = 180
BUSY_ACTIONS = [Action.Status.PENDING_APPROVAL, Action.Status.APPROVED, Action.Status.RUNNING]
BUSY_RUNS = [Investigation.Status.QUEUED, Investigation.Status.RUNNING]


def _queued_messages() -> int:
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return sum(client.llen(queue.name) for queue in app.conf.task_queues)


def _state() -> tuple[int, ...]:
    return (
        Event.objects.count(),
        Alert.objects.count(),
        Investigation.objects.filter(status__in=BUSY_RUNS).count(),
        Action.objects.filter(status__in=BUSY_ACTIONS).count(),
        Action.objects.filter(status=Action.Status.SUCCEEDED).count(),
    )


def _drain(api: Api, tokens: dict[str, str], ledger: Ledger) -> float:
    """Keep approving until nothing is queued, running or waiting and the counts hold still; seconds."""
    started = time.monotonic()
    previous = None
    while time.monotonic() - started < DRAIN_SECONDS:
        approve_pending(api, tokens["analyst"], tokens["manager"], ledger)
        state = _state()
        if state == previous and state[2] == state[3] == 0 and _queued_messages() == 0:
            return time.monotonic() - started
        previous = state
        time.sleep(3)
    raise AssertionError(f"the work did not drain within {DRAIN_SECONDS} s: {_state()}")


def _stored(source: str, keys: set[str]) -> set[str]:
    ordered, found = sorted(keys), set()
    for start in range(0, len(ordered), 5000):
        found |= set(
            Event.objects.filter(source=source, source_record_id__in=ordered[start : start + 5000]).values_list(
                "source_record_id", flat=True
            )
        )
    return found


def test_a_soak_of_mixed_work_keeps_memory_flat_and_loses_no_task(
    celery_worker_process, ingest_user, analyst, manager, tmp_path
):
    tokens = {
        name: api_token_create(user=user, name="soak")[1]
        for name, user in (("ingest", ingest_user), ("analyst", analyst), ("manager", manager))
    }
    env = app_env(
        database_url=database_url_of_this_run(),
        broker_url=os.environ["CELERY_BROKER_URL"],
        var_dir=str(tmp_path),
    )
    web = WebServer(env, threads=4)
    web.start()
    try:
        api, ledger, memory = Api(web.port), Ledger(), MemorySamples()
        stop = threading.Event()
        started = time.monotonic()

        def feed():
            round_number = 0
            while not stop.is_set() and time.monotonic() - started < SOAK_SECONDS:
                ingest_round(api, tokens["ingest"], round_number, ledger)
                round_number += 1
                stop.wait(max(0.0, started + round_number * ROUND_SECONDS - time.monotonic()))

        def analysts():
            while not stop.wait(2):
                approve_pending(api, tokens["analyst"], tokens["manager"], ledger)
                for path in ("/api/v1/alerts/?status=new", "/api/v1/investigations/"):
                    status, _ = api.call("GET", path, tokens["analyst"])
                    if status != 200:
                        ledger.error(f"GET {path}: {status}")

        threads = [threading.Thread(target=feed), threading.Thread(target=analysts)]
        for thread in threads:
            thread.start()
        try:
            while threads[0].is_alive():
                worker_pids = process_group(celery_worker_process.process.pid)
                memory.take(started, web.worker_pids(), worker_pids)
                time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=300)
        load_seconds = time.monotonic() - started
        drained = _drain(api, tokens, ledger)
    finally:
        web.stop()

    web_start, web_end = memory.growth_after(load_seconds * WARM_UP, 1)
    worker_start, worker_end = memory.growth_after(load_seconds * WARM_UP, 2)
    alerts = Alert.objects.exclude(severity=Severity.INFORMATIONAL)
    print(
        f"\nsoak: {load_seconds:.0f} s of load, {ledger.rounds} rounds, {ledger.records:,} records in "
        f"{ledger.requests} requests ({ledger.records / load_seconds:.0f} records/s), drained in {drained:.0f} s; "
        f"{Alert.objects.count()} alerts, {Investigation.objects.count()} investigations, "
        f"{ledger.approvals} approvals, {Action.objects.filter(status=Action.Status.SUCCEEDED).count()} actions "
        f"succeeded\nRSS after warm-up -> end (MiB): web {web_start:.0f} -> {web_end:.0f}, "
        f"worker {worker_start:.0f} -> {worker_end:.0f}; samples (s, web KiB, worker KiB): {memory.samples[::10]}"
    )
    assert ledger.errors == []
    assert ledger.rounds >= 2 and ledger.approvals > 0
    for source in SOURCES:  # every ingested record stored
        assert _stored(source, ledger.posted[source]) == ledger.posted[source], source
    # Every approved action ran to success; nothing waits, nothing is stuck.
    unfinished = Action.objects.filter(Q(status__in=BUSY_ACTIONS) | Q(status=Action.Status.FAILED))
    assert not unfinished.exists(), list(unfinished.values("kind", "target", "status", "attempts", "error", "result"))
    assert not Investigation.objects.filter(status__in=BUSY_RUNS).exists()
    # No playbook run or check broke under load.
    assert not Investigation.objects.filter(status=Investigation.Status.FAILED).exists()
    assert not Finding.objects.filter(verdict=Finding.Verdict.ERROR).exists()
    # Every alert about a user is in an investigation of its identity (the kiosk's, about no user,
    # is in none, by design), and every attack was detected.
    about_users = alerts.filter(identity__isnull=False)
    assert about_users.exists() and not about_users.filter(investigations__isnull=True).exists()
    assert not about_users.exclude(identity__investigations__isnull=False).exists()
    assert not alerts.filter(identity__isnull=True, investigations__isnull=False).exists()
    tenants = range(min(ledger.rounds, TENANTS))
    attacked = {f"{name}@{tenant_domain(t)}" for t in tenants for name in ATTACKED}
    assert set(Investigation.objects.values_list("identity__upn", flat=True)) >= attacked
    # Flat memory after warm-up.
    for name, start, end in (("web", web_start, web_end), ("worker", worker_start, worker_end)):
        assert end - start <= max(GROWTH_MIB, start * GROWTH_SHARE), f"{name} RSS grew {start:.0f} -> {end:.0f} MiB"

"""No approval is lost when the broker is down: it is kept, and runs once the broker is back.

This test stops a broker, so it runs its OWN redis-server on a spare port (never the shared
one) with its own worker attached to it.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from airportal.celery import app
from investigations.models import Action
from investigations.services.sweep import investigations_sweep, sweep_thresholds
from tests.conftest import WorkerHandle, wait_until
from tests.reliability.support import connector_calls, settled

pytestmark = [pytest.mark.worker, pytest.mark.slow]
REDIS = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, port: int, workdir):
        self.port, self.workdir, self.process = port, str(workdir), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self._answers(), timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def publishing_to(url: str):
    """Point this process's Celery app at ``url`` (the pools are rebuilt), then restore it."""
    previous = (app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url)

    def reset():
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url = previous
        reset()


@pytest.fixture
def private_broker(transactional_db, settings, tmp_path):
    if REDIS is None:
        pytest.skip("needs redis-server on PATH to run a private broker")
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL so a worker process can share the test database (CI sets DATABASE_URL)")
    redis = PrivateRedis(_free_port(), tmp_path)
    redis.start()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    db = connection.settings_dict
    worker = WorkerHandle(
        {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": redis.url,
            "DJANGO_SETTINGS_MODULE": "airportal.settings",
        }
    )
    with publishing_to(redis.url):
        worker.start()
        try:
            yield redis, worker
        finally:
            worker.stop()
            redis.stop()
            app.conf.task_always_eager = True


def test_an_approval_made_while_the_broker_is_down_runs_when_it_is_back(private_broker, analyst, client):
    from tests.reliability.support import compromised_case

    redis, worker = private_broker
    action = compromised_case().actions.get(kind="revoke_sessions")

    redis.stop()
    client.force_login(analyst)
    started = time.monotonic()
    response = client.post(reverse("api_action_approve", args=[action.pk]), {}, content_type="application/json")
    assert response.status_code == 200  # the decision is committed even though the task could not be sent
    assert time.monotonic() - started < 15
    action.refresh_from_db()
    assert action.status == Action.Status.APPROVED and action.approved_by == analyst
    time.sleep(1)
    action.refresh_from_db()
    assert action.status == Action.Status.APPROVED and connector_calls(action) == 0  # nothing ran

    redis.start()
    wait_until(lambda: worker.output().count("Connected to redis://") >= 2, timeout=60)  # reconnected
    overdue = timezone.now() + sweep_thresholds()["requeue_after"] + timedelta(seconds=1)
    assert investigations_sweep(now=overdue)["actions_requeued"] == 1  # the beat sweep, run once here

    action = settled(action)
    assert action.status == Action.Status.SUCCEEDED and action.attempts == 1
    assert connector_calls(action) == 1

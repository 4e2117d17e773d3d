"""Personas and real-service fixtures shared by the whole suite."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from airportal.roles import Role
from airportal.services import user_set_role
from airportal.tokens import api_token_create
from tests.factories import UserFactory

pytest_plugins = ["tests.browser", "tests.m365.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def _persona(username: str, role: Role | None):
    user = UserFactory(username=username)
    if role is not None:
        user_set_role(user=user, role=role)
    return user


@pytest.fixture
def analyst(db):
    return _persona("alice", Role.ANALYST)


@pytest.fixture
def analyst2(db):
    return _persona("arthur", Role.ANALYST)


@pytest.fixture
def manager(db):
    return _persona("maria", Role.MANAGER)


@pytest.fixture
def admin_user(db):
    return _persona("ada", Role.ADMIN)


@pytest.fixture
def ingest_user(db):
    return _persona("ingestor", Role.INGEST)


@pytest.fixture
def outsider(db):
    return _persona("oscar", None)


@pytest.fixture
def personas(analyst, manager, admin_user, ingest_user, outsider):
    return {"analyst": analyst, "manager": manager, "admin": admin_user, "ingest": ingest_user, "outsider": outsider}


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def bearer():
    """``bearer(user)`` -> headers for the API test client with a fresh token of that user."""

    def make(user):
        _, raw = api_token_create(user=user, name="test")
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


# --- Real services -------------------------------------------------------------------------------


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _network_broker() -> str | None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith(("redis://", "amqp://", "rediss://", "amqps://")) else None


@pytest.fixture
def require_postgres(db):
    if not _is_postgres():
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)")


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real ``celery -A airportal worker`` on the test database and the configured broker.

    Yields a handle with ``start()``/``kill()`` so reliability tests can SIGKILL and restart it.
    """
    if not _is_postgres():
        pytest.skip("needs PostgreSQL so a worker process can share the test database (CI sets DATABASE_URL)")
    broker = _network_broker()
    if broker is None:
        pytest.skip("needs a network broker: set CELERY_BROKER_URL=redis://… (CI does)")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from airportal.celery import app

    app.conf.task_always_eager = False
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "airportal.settings",
    }
    handle = WorkerHandle(env)
    with app.connection_for_write() as conn:  # a clean queue: nothing from an earlier test
        for queue in settings.CELERY_TASK_QUEUES:
            try:
                conn.default_channel.queue_purge(queue.name)
            except Exception:  # noqa: S110 - the queue may not exist yet
                pass
    handle.start()
    yield handle
    handle.stop()
    app.conf.task_always_eager = True


class WorkerHandle:
    """A ``celery worker`` process; with ``beat``, the scheduler runs embedded in it (as ``make run`` does)."""

    def __init__(self, env, *, beat: bool = False):
        self.env = env
        self.beat = beat
        self.process = None

    def start(self):
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        self.log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                celery,
                "-A",
                "airportal",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
                *(["--beat", f"--schedule={self.log.name}.beat"] if self.beat else []),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while " ready." not in Path(self.log.name).read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited: {Path(self.log.name).read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("Celery worker did not start within 60 s")
            time.sleep(0.2)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self):
        """SIGKILL the worker and its pool, as a crashed machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(predicate, timeout=30.0, interval=0.1):
    """Poll ``predicate`` until it is truthy; the value, or AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")

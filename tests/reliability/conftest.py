"""Fixtures of the reliability suite: a private broker with its own worker on the test database."""

from contextlib import contextmanager

import pytest
from django.db import connection

from airportal.celery import app
from tests.conftest import WorkerHandle
from tests.reliability.services import REDIS, PrivateRedis, app_env, free_port


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


def database_url_of_this_run() -> str:
    """The URL of the test database, for processes started by a test."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def broker_and_worker(settings, tmp_path, *, beat: bool = False, **env: str):
    """A redis-server of this test only, and a Celery worker on it and the test database.

    This process publishes to that redis too, so the test may stop and start it at will. With
    ``beat``, the worker runs the scheduler (sweeps, heartbeats) as ``make run`` does; ``env``
    overrides settings of the worker (e.g. shorter sweep periods).
    """
    if REDIS is None:
        pytest.skip("needs redis-server on PATH to run a private broker")
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL so a worker process can share the test database (CI sets DATABASE_URL)")
    redis = PrivateRedis(free_port(), tmp_path)
    redis.start()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    base = app_env(database_url=database_url_of_this_run(), broker_url=redis.url, var_dir=str(tmp_path))
    worker = WorkerHandle({**base, "DEBUG": "1", **env}, beat=beat)
    with publishing_to(redis.url):
        worker.start()
        try:
            yield redis, worker
        finally:
            worker.stop()
            redis.stop()
            app.conf.task_always_eager = True


@pytest.fixture
def private_broker(transactional_db, settings, tmp_path):
    """(redis, worker): a private broker and a worker on it (see ``broker_and_worker``)."""
    with broker_and_worker(settings, tmp_path) as pair:
        yield pair

from datetime import timedelta

import pytest
from django.utils import timezone

from airportal.models import WorkerHeartbeat
from airportal.tasks import heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_alive(db):
    heartbeat(origin="worker@test")


def test_healthz_reports_database_broker_and_worker(client, worker_alive):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"], body["worker"]) == ("ok", "ok", "ok", "ok")
    assert body["worker_last_seen"]


def test_healthz_is_503_when_the_broker_is_down(client, worker_alive):
    from airportal.celery import app

    previous = app.conf.broker_url, app.conf.broker_write_url
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url, app.conf.broker_write_url = previous
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


def test_healthz_is_degraded_when_no_worker_ever_reported(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["worker"] == "down: no worker has reported yet"


def test_healthz_is_degraded_after_three_missed_heartbeats(client, settings, worker_alive):
    two_periods = timezone.now() - timedelta(seconds=2 * settings.WORKER_HEARTBEAT_SECONDS)
    WorkerHeartbeat.objects.update(last_seen_at=two_periods)
    assert client.get("/healthz").status_code == 200  # late, not gone
    four_periods = timezone.now() - timedelta(seconds=4 * settings.WORKER_HEARTBEAT_SECONDS)
    WorkerHeartbeat.objects.update(last_seen_at=four_periods)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"].startswith("down: no worker heartbeat for ")


def test_admins_see_a_degraded_system_on_the_dashboard(client, admin_user, analyst):
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert "Background work is degraded" in page and "no worker has reported yet" in page
    heartbeat(origin="worker@test")
    assert "Background work is degraded" not in client.get("/").content.decode()


def test_analysts_are_not_shown_the_system_health(client, analyst):
    client.force_login(analyst)
    assert "Background work is degraded" not in client.get("/").content.decode()

"""The beat task in a real Celery worker process, against the fake tenant."""

import pytest

from alerts.feeds.cycle import GRAPH_FEEDS
from alerts.feeds.management_activity import CONTENT_TYPES, stream_name
from alerts.models import Event, M365FeedState
from alerts.tasks import m365_pull
from tests.conftest import wait_until

M365_SETTINGS = (
    "M365_LOGIN_URL",
    "M365_GRAPH_URL",
    "M365_MANAGEMENT_URL",
    "M365_EXCHANGE_URL",
    "M365_TENANT_ID",
    "M365_CLIENT_ID",
    "M365_CLIENT_SECRET",
)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_pulls_every_feed_in_a_worker_process(tenant_logs, settings, monkeypatch, request):
    for name in M365_SETTINGS:  # the worker reads its settings from the environment, as in production
        monkeypatch.setenv(name, getattr(settings, name))
    request.getfixturevalue("celery_worker_process")

    m365_pull.delay()

    wait_until(lambda: Event.objects.count() == 18, timeout=60)
    streams = {stream_name(content_type) for content_type in CONTENT_TYPES} | {f.stream for f in GRAPH_FEEDS.values()}
    succeeded = M365FeedState.objects.filter(last_success_at__isnull=False)
    wait_until(lambda: set(succeeded.values_list("stream", flat=True)) == streams, timeout=30)
    assert Event.objects.filter(source="o365-audit").count() == 8

"""With a real Celery worker and Redis: a failing receiver gets the message after backoff, once."""

import pytest

from investigations.models import NotificationDelivery, NotificationEvent
from investigations.notifications.services import notification_event_dispatch
from tests.conftest import wait_until
from tests.factories import ActionFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_worker_retries_with_backoff_and_sends_once(request, monkeypatch, webhook_rule, receiver, transactional_db):
    monkeypatch.setenv("NOTIFICATION_RETRY_BASE_SECONDS", "1")  # read by the worker process
    request.getfixturevalue("celery_worker_process")
    rule = webhook_rule(events=[NotificationEvent.ACTION_FAILED])
    receiver.fail_next(503, 502)
    action = ActionFactory()
    notification_event_dispatch(event=NotificationEvent.ACTION_FAILED, object_id=action.pk)
    delivery = wait_until(
        lambda: NotificationDelivery.objects.filter(rule=rule, status=NotificationDelivery.Status.SENT).first(),
        timeout=60,
    )
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3
    # Backoff: 1 s then 2 s between the attempts.
    assert (delivery.sent_at - delivery.created_at).total_seconds() >= 3
    notification_event_dispatch(event=NotificationEvent.ACTION_FAILED, object_id=action.pk)
    assert NotificationDelivery.objects.filter(rule=rule).count() == 1

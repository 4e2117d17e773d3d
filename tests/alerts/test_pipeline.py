"""Ingest → detection: inline in ``manage.py ingest``, else a Celery task per batch of identities after commit."""

import pytest

from alerts.ingest import ingest_records
from alerts.models import Alert, Event
from alerts.pipeline import batches_by_identity, events_ingested
from tests.alerts.support.detection import T0, identity, rule_event
from tests.conftest import wait_until

HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}


def _records(n=1):
    return [
        {
            "id": f"rule-{i}",
            "user": f"user{i}@contoso.com",
            "occurred_at": T0.isoformat(),
            "kind": "inbox_rule_created",
            "operation": "New-InboxRule",
            "target": "..",
            "attributes": {"rule": HIDING_RULE},
        }
        for i in range(n)
    ]


@pytest.mark.django_db
def test_inline_ingest_has_raised_the_alert_when_it_returns():
    ingest_records(source="events", records=_records(), inline=True)
    assert Alert.objects.filter(detector="suspicious_inbox_rule").count() == 1


@pytest.mark.django_db
def test_background_detection_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events_ingested(event_ids=[rule_event(identity(), T0, HIDING_RULE).pk], inline=False)
    assert not Alert.objects.exists() and len(callbacks) == 1
    callbacks[0]()  # the commit happens: the (eager) task runs
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_batches_keep_each_identitys_events_together():
    a, b, c = identity("a"), identity("b"), identity("c")
    events = [rule_event(who, T0, HIDING_RULE) for who in (a, a, a, b, c, c)]
    batches = batches_by_identity([e.pk for e in events], size=4)
    owners = [{Event.objects.get(pk=pk).identity_id for pk in batch} for batch in batches]
    assert [len(batch) for batch in batches] == [4, 2]
    assert owners == [{a.pk, b.pk}, {c.pk}]


@pytest.mark.worker
def test_a_real_worker_raises_the_alert_after_ingest(celery_worker_process):
    result = ingest_records(source="events", records=_records(3), inline=False)
    assert result.created == 3
    wait_until(lambda: Alert.objects.filter(detector="suspicious_inbox_rule").count() == 3, timeout=60)
    wait_until(lambda: "detect_events: 3 events" in celery_worker_process.output(), timeout=10)

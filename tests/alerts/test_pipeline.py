"""Ingest → detection: the detection ledger, the task per batch, the sweep and the CLI's inline run."""

import re
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from alerts.ingest import ingest_records
from alerts.models import Alert, DetectionBatch, Event
from alerts.pipeline import batches_by_identity, detection_batch_judge, detection_sweep, events_ingested
from tests.alerts.support.detection import T0, identity, rule_event
from tests.conftest import wait_until
from tests.pipeline import ingest_judged

HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}


def _records(n=1, start=0):
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
        for i in range(start, start + n)
    ]


@pytest.mark.django_db
def test_inline_ingest_has_raised_the_alert_when_it_returns():
    ingest_judged(source="events", records=_records())
    assert Alert.objects.filter(detector="suspicious_inbox_rule").count() == 1
    assert not DetectionBatch.objects.filter(judged_at__isnull=True).exists()


@pytest.mark.django_db
def test_stored_events_enter_the_ledger_in_the_same_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest_records(source="events", records=_records(2))
    batches = list(DetectionBatch.objects.all())
    assert sorted(pk for batch in batches for pk in batch.event_ids) == sorted(result.event_ids)
    assert all(batch.judged_at is None and batch.attempts == 1 for batch in batches)
    assert len(callbacks) == len(batches) and not Alert.objects.exists()  # detection waits for the commit


@pytest.mark.django_db
def test_background_detection_waits_for_the_commit_and_marks_the_batch_judged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [batch_id] = events_ingested(event_ids=[rule_event(identity(), T0, HIDING_RULE).pk])
    assert not Alert.objects.exists() and len(callbacks) == 1
    callbacks[0]()  # the commit happens: the (eager) task runs
    assert Alert.objects.count() == 1
    assert DetectionBatch.objects.get(pk=batch_id).judged_at is not None


@pytest.mark.django_db
def test_judging_a_batch_twice_is_a_no_op():
    [batch_id] = events_ingested(event_ids=[rule_event(identity(), T0, HIDING_RULE).pk])
    assert detection_batch_judge(batch_id=batch_id).alerts_created == 1
    assert detection_batch_judge(batch_id=batch_id) is None
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_the_sweep_queues_a_lost_batch_again_after_a_minute(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the task is lost with the broker
        [batch_id] = events_ingested(event_ids=[rule_event(identity(), T0, HIDING_RULE).pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert detection_sweep().requeued == 0  # not lost yet: queued seconds ago
    DetectionBatch.objects.filter(pk=batch_id).update(queued_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        result = detection_sweep()
    assert result.requeued == 1 and result.unjudged == 1  # counted when the sweep ran
    batch = DetectionBatch.objects.get(pk=batch_id)
    assert batch.judged_at is not None and batch.attempts == 2
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_a_batch_that_keeps_failing_waits_longer_each_time():
    [batch_id] = events_ingested(event_ids=[rule_event(identity(), T0, HIDING_RULE).pk])
    DetectionBatch.objects.filter(pk=batch_id).update(attempts=4, queued_at=timezone.now() - timedelta(minutes=5))
    assert detection_sweep().requeued == 0  # the 4th send waits 8 minutes
    DetectionBatch.objects.filter(pk=batch_id).update(queued_at=timezone.now() - timedelta(minutes=9))
    assert detection_sweep().requeued == 1


@pytest.mark.django_db
def test_a_repost_queues_the_unjudged_batches_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ingest_records(source="events", records=_records(1))
    DetectionBatch.objects.update(queued_at=timezone.now() - timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_records(source="events", records=_records(1))
    assert result.duplicates == 1 and result.created == 0
    assert DetectionBatch.objects.count() == 1 and DetectionBatch.objects.get().judged_at is not None
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_batches_keep_each_identitys_events_together():
    a, b, c = identity("a"), identity("b"), identity("c")
    events = [rule_event(who, T0, HIDING_RULE) for who in (a, a, a, b, c, c)]
    batches = batches_by_identity([e.pk for e in events], size=4)
    owners = [{Event.objects.get(pk=pk).identity_id for pk in batch} for _, batch in batches]
    assert [len(batch) for _, batch in batches] == [4, 2]
    assert owners == [{a.pk, b.pk}, {c.pk}]


@pytest.mark.django_db
def test_batches_are_cut_per_shard_of_identities():
    people = [identity(f"u{n}") for n in range(6)]
    events = [rule_event(who, T0, HIDING_RULE) for who in people for _ in range(2)]
    batches = batches_by_identity([e.pk for e in events], size=100, shards=2)
    assert sorted(pk for _, batch in batches for pk in batch) == sorted(e.pk for e in events)
    for shard, batch in batches:
        assert {Event.objects.get(pk=pk).identity_id % 2 for pk in batch} == {shard}
    assert sorted(shard for shard, _ in batches) == [0, 1]


def _entries(who, count) -> list[int]:
    """``count`` ledger entries of ``who``'s events, in order, none judged yet."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        return [events_ingested(event_ids=[rule_event(who, T0, HIDING_RULE).pk])[0] for _ in range(count)]


@pytest.mark.django_db
def test_judging_an_entry_first_judges_the_earlier_ones_of_its_shard_in_order():
    megan = identity("megan")
    first, second, third = _entries(megan, 3)
    result = detection_batch_judge(batch_id=third)
    assert result.events == 1
    judged = dict(DetectionBatch.objects.values_list("pk", "judged_at"))
    assert judged[first] <= judged[second] <= judged[third]
    assert detection_batch_judge(batch_id=first) is None  # its own task comes late: nothing to do
    assert Alert.objects.count() == 1  # three rules of one user fold into one alert


@pytest.mark.django_db
def test_an_earlier_entry_that_fails_or_was_requeued_does_not_hold_its_shard_back():
    megan = identity("megan")
    broken, requeued, later = _entries(megan, 3)
    DetectionBatch.objects.filter(pk=broken).update(event_ids=["not an id"])
    DetectionBatch.objects.filter(pk=requeued).update(attempts=2)  # the sweep had to send it again
    assert detection_batch_judge(batch_id=later).events == 1
    unjudged = set(DetectionBatch.objects.filter(judged_at__isnull=True).values_list("pk", flat=True))
    assert unjudged == {broken, requeued}


@pytest.mark.worker
def test_a_real_worker_raises_the_alert_after_ingest(celery_worker_process):
    result = ingest_records(source="events", records=_records(3))
    assert result.created == 3
    wait_until(lambda: Alert.objects.filter(detector="suspicious_inbox_rule").count() == 3, timeout=60)
    judged = lambda: sum(int(n) for n in re.findall(r"detect_batch \d+: (\d+) events", celery_worker_process.output()))  # noqa: E731
    wait_until(lambda: judged() == 3, timeout=10)
    assert not DetectionBatch.objects.filter(judged_at__isnull=True).exists()

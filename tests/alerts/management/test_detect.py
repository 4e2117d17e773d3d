"""``manage.py detect --since``: stored events judged again, on demand, without duplicate alerts."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from alerts.management.commands.detect import parse_since
from alerts.models import Alert, AlertPolicy, DetectionBatch
from tests.alerts.support.detection import identity, rule_event

pytestmark = pytest.mark.django_db
HIDING_RULE = {"name": "..", "move_to_folder": "RSS Feeds", "subject_or_body_contains_words": ["invoice"]}


def detect(*args) -> str:
    """The command as it runs for real: each chunk commits, and what it queued runs after the commit."""
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("detect", *args, stdout=out)
    return out.getvalue()


def test_events_never_judged_raise_their_alerts():
    now = timezone.now()
    rule_event(identity("megan"), now - timedelta(hours=1), HIDING_RULE)  # stored without detection
    out = detect("--since", "2h")
    assert Alert.objects.filter(detector="suspicious_inbox_rule").count() == 1
    assert "Judged 1 events" in out and "1 new alerts" in out
    assert DetectionBatch.objects.get().judged_at is not None


def test_judging_again_raises_no_duplicate_alert():
    rule_event(identity("megan"), timezone.now() - timedelta(hours=1), HIDING_RULE)
    detect("--since", "1d")
    out = detect("--since", "1d")
    assert Alert.objects.count() == 1 and "0 new alerts" in out


def test_a_policy_enabled_afterwards_judges_the_old_events():
    AlertPolicy.objects.filter(detector="suspicious_inbox_rule").update(enabled=False)
    rule_event(identity("megan"), timezone.now() - timedelta(days=2), HIDING_RULE)
    detect("--since", "3d")
    assert not Alert.objects.exists()
    AlertPolicy.objects.filter(detector="suspicious_inbox_rule").update(enabled=True)
    detect("--since", "3d")
    assert Alert.objects.count() == 1


def test_only_events_in_the_window_are_judged():
    rule_event(identity("megan"), timezone.now() - timedelta(days=5), HIDING_RULE)
    out = detect("--since", "1d")
    assert "Judged 0 events" in out and not Alert.objects.exists()


def test_since_reads_iso_times_and_spans():
    assert parse_since("2026-03-01T08:00:00Z").isoformat() == "2026-03-01T08:00:00+00:00"
    assert parse_since("2026-03-01").isoformat() == "2026-03-01T00:00:00+00:00"
    assert abs((timezone.now() - parse_since("90m")) - timedelta(minutes=90)) < timedelta(seconds=5)


@pytest.mark.parametrize("value", ["yesterday", "2w", "2026-13-01", ""])
def test_a_bad_since_is_a_clear_error(value):
    with pytest.raises(CommandError, match="ISO 8601"):
        detect("--since", value)

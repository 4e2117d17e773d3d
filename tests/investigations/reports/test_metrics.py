"""The metrics against the hand-computed world of conftest.py (SQLite, and PostgreSQL in CI)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from investigations.models import Action
from investigations.reports.filters import ReportFilters
from investigations.reports.metrics import metrics_compute
from tests.factories import ActionFactory

pytestmark = pytest.mark.django_db


def approx(value):
    return pytest.approx(value, abs=0.01)


def test_time_to_detect_median_and_p90(world):
    speeds = metrics_compute(filters=world.filters).speeds
    assert speeds.current["ttd"].n == 5
    assert speeds.current["ttd"].p50 == approx(1800)
    assert speeds.current["ttd"].p90 == approx(5760)


def test_time_to_detect_per_detector(world):
    by_detector = metrics_compute(filters=world.filters).speeds.by_detector
    assert set(by_detector) == {"suspicious_inbox_rule", "suspicious_signin"}
    assert (by_detector["suspicious_inbox_rule"]["ttd"].p50, by_detector["suspicious_inbox_rule"]["ttd"].p90) == (
        approx(1800),
        approx(3240),
    )
    assert (by_detector["suspicious_signin"]["ttd"].p50, by_detector["suspicious_signin"]["ttd"].p90) == (
        approx(3750),
        approx(6510),
    )


def test_time_to_acknowledge_ignores_unacknowledged_alerts(world):
    speeds = metrics_compute(filters=world.filters).speeds
    assert speeds.current["tta"].n == 4
    assert (speeds.current["tta"].p50, speeds.current["tta"].p90) == (approx(1500), approx(2640))


def test_time_to_acknowledge_per_analyst(world):
    by_analyst = metrics_compute(filters=world.filters).speeds.by_analyst
    assert (by_analyst["alice"]["tta"].p50, by_analyst["alice"]["tta"].p90) == (approx(1200), approx(1680))
    assert (by_analyst["arthur"]["tta"].p50, by_analyst["arthur"]["tta"].p90) == (approx(2100), approx(2820))
    assert by_analyst[""]["tta"].n == 0  # the unassigned alert was never acknowledged
    assert by_analyst[""]["ttd"].n == 1


def test_time_to_remediate_uses_the_last_succeeded_action_and_ignores_undo(world):
    ttr = metrics_compute(filters=world.filters).speeds.current["ttr"]
    assert ttr.n == 3
    assert (ttr.p50, ttr.p90) == (approx(10800), approx(79920))


def test_previous_period_is_compared(world):
    speeds = metrics_compute(filters=world.filters).speeds
    assert speeds.previous["ttd"].n == 1
    assert speeds.previous["ttd"].p50 == approx(900)


def test_trend_per_day(world):
    speeds = metrics_compute(filters=world.filters).speeds
    assert speeds.bucket == "day"
    trend = {day.isoformat(): stats["ttd"].p50 for day, stats in speeds.trend}
    assert trend == {
        "2025-03-02": approx(3600),
        "2025-03-03": approx(1800),
        "2025-03-04": approx(600),
        "2025-03-05": approx(3750),
    }


def test_long_periods_trend_per_week(world):
    filters = ReportFilters(start=world.filters.end - timedelta(days=90), end=world.filters.end)
    speeds = metrics_compute(filters=filters).speeds
    assert speeds.bucket == "week"
    assert sum(stats["ttd"].n for _, stats in speeds.trend) == 7  # every alert since 2024-12-08
    assert all(week.weekday() == 0 for week, _ in speeds.trend)  # weeks start on Monday
    assert [week.isoformat() for week, _ in speeds.trend][-1] == "2025-03-03"


def test_alerts_per_day_by_severity(world):
    rows = metrics_compute(filters=world.filters).alerts_per_day
    assert {(str(row["day"]), row["severity"]): row["n"] for row in rows} == {
        ("2025-03-02", "high"): 1,
        ("2025-03-03", "medium"): 1,
        ("2025-03-04", "low"): 1,
        ("2025-03-05", "high"): 1,
        ("2025-03-05", "informational"): 1,
    }


def test_approvals_rejections_and_automation_per_kind(world):
    rows = {row["kind"]: row for row in metrics_compute(filters=world.filters).decisions}
    assert {kind: (r["approved"], r["rejected"], r["automated"]) for kind, r in rows.items()} == {
        "revoke_sessions": (2, 0, 0),
        "remove_inbox_rule": (0, 0, 1),  # the undo is not a decision of its own here
        "disable_account": (1, 0, 0),
        "reset_password": (0, 1, 0),
    }


def test_true_and_false_positive_rate_per_policy(world):
    rows = {row["detector"]: row for row in metrics_compute(filters=world.filters).policy_quality}
    inbox, signin = rows["suspicious_inbox_rule"], rows["suspicious_signin"]
    assert (inbox["total"], inbox["classified"], inbox["tp_rate"], inbox["fp_rate"]) == (3, 2, 0.5, 0.5)
    assert (signin["total"], signin["classified"], signin["tp_rate"], signin["fp_rate"]) == (2, 2, 0.5, 0.0)
    assert inbox["name"] == "Suspicious inbox rule"
    # The noisiest policy comes first.
    assert [row["detector"] for row in metrics_compute(filters=world.filters).policy_quality][0] == (
        "suspicious_inbox_rule"
    )


def test_most_targeted_users(world):
    targets = metrics_compute(filters=world.filters).targets
    assert [(row["identity__upn"], row["n"], row["high"]) for row in targets] == [
        ("bob@contoso.com", 3, 1),
        ("carol@contoso.com", 2, 1),
    ]


def test_pending_actions_past_sla(world):
    investigation = world.investigations["open"]
    late = ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)
    ActionFactory(investigation=investigation, kind=Action.Kind.RESET_PASSWORD)  # just proposed
    Action.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    metrics = metrics_compute(filters=world.filters)
    assert metrics.sla_minutes == 60
    assert metrics.overdue_count == 1
    assert [action.pk for action in metrics.overdue] == [late.pk]


def test_filters_narrow_every_metric(world):
    filters = ReportFilters(start=world.filters.start, end=world.filters.end, detector="suspicious_signin")
    metrics = metrics_compute(filters=filters)
    assert metrics.totals["alerts"] == 2
    assert metrics.speeds.current["ttd"].n == 2
    assert {row["kind"] for row in metrics.decisions} == {"revoke_sessions"}
    by_analyst = metrics_compute(filters=ReportFilters(start=filters.start, end=filters.end, analyst="alice"))
    assert by_analyst.totals["alerts"] == 2
    assert {row["kind"]: row["approved"] for row in by_analyst.decisions} == {
        "revoke_sessions": 1,
        "disable_account": 1,
    }
    department = metrics_compute(filters=ReportFilters(start=filters.start, end=filters.end, department="sales"))
    assert [row["identity__upn"] for row in department.targets] == ["carol@contoso.com"]


def test_empty_period_has_no_figures(db):
    end = timezone.now() - timedelta(days=400)
    metrics = metrics_compute(filters=ReportFilters(start=end - timedelta(days=7), end=end))
    assert metrics.totals["alerts"] == 0
    assert metrics.speeds.current["ttd"].n == 0
    assert metrics.speeds.current["ttd"].p50 is None
    assert metrics.speeds.trend == []

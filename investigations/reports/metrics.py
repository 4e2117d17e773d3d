"""The metrics a manager reads: volume, speed, decisions, noise, backlog, targets, automation.

Every figure is computed by the database from status-change timestamps:
- time to detect: ``alert.first_activity_at`` (first malicious activity) → ``alert.created_at``;
- time to acknowledge: ``alert.created_at`` → ``alert.acknowledged_at`` (first triage);
- time to remediate: ``alert.created_at`` → ``finished_at`` of the last succeeded action of the
  alert's investigations (undo actions excluded).
Speeds are medians and 90th percentiles, per detector, per analyst (the alert's assignee) and
per day or week (the trend), and compared with the period of equal length just before.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import CharField, Count, F, FloatField, Max, Q, Value
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.db.models.lookups import Exact
from django.utils import timezone

from airportal.services import portal_settings_get
from alerts.models import Alert, AlertPolicy, Severity
from investigations.models import Action
from investigations.reports.filters import ReportFilters, actions_filtered, alerts_filtered
from investigations.reports.sql import EMPTY, Percentiles, SecondsBetween, duration_percentiles, report_queries

SPEEDS = {"ttd": "Time to detect", "tta": "Time to acknowledge", "ttr": "Time to remediate"}
TOP_TARGETS = 10
OVERDUE_LIST = 20


@dataclass
class SpeedMetrics:
    """Per speed (ttd/tta/ttr): the period's figure, the previous period's, and the breakdowns."""

    current: dict[str, Percentiles]
    previous: dict[str, Percentiles]
    by_detector: dict[str, dict[str, Percentiles]]
    by_analyst: dict[str, dict[str, Percentiles]]
    trend: list[tuple[date, dict[str, Percentiles]]]
    bucket: str  # "day" or "week"


@dataclass
class Metrics:
    filters: ReportFilters
    alerts_per_day: list[dict]
    speeds: SpeedMetrics
    decisions: list[dict]
    policy_quality: list[dict]
    overdue_count: int
    overdue: list[Action]
    sla_minutes: int
    targets: list[dict]
    totals: dict = field(default_factory=dict)


def metrics_compute(*, filters: ReportFilters) -> Metrics:
    """Every metric of the metrics page for ``filters``, in a constant number of queries."""
    sla_minutes = portal_settings_get().action_sla_minutes
    with report_queries():
        return _metrics(filters, sla_minutes)


def _metrics(filters: ReportFilters, sla_minutes: int) -> Metrics:
    overdue_qs = overdue_actions(filters=filters, sla_minutes=sla_minutes)
    alerts_per_day = alerts_per_day_by_severity(filters=filters)
    decisions = action_decisions_by_kind(filters=filters)
    return Metrics(
        filters=filters,
        alerts_per_day=alerts_per_day,
        speeds=speed_metrics(filters=filters),
        decisions=decisions,
        policy_quality=policy_quality(filters=filters),
        overdue_count=overdue_qs.count(),
        overdue=list(overdue_qs.select_related("identity")[:OVERDUE_LIST]),
        sla_minutes=sla_minutes,
        targets=most_targeted_users(filters=filters),
        totals={
            "alerts": sum(row["n"] for row in alerts_per_day),
            "high": sum(row["n"] for row in alerts_per_day if row["severity"] == Severity.HIGH),
            "automated": sum(row["automated"] for row in decisions),
            "by_hand": sum(row["approved"] for row in decisions),
        },
    )


def alerts_per_day_by_severity(*, filters: ReportFilters) -> list[dict]:
    """``[{day, severity, n}]`` for the alerts raised in the period."""
    rows = (
        alerts_filtered(Alert.objects.all(), filters)
        .annotate(day=TruncDate("created_at"))
        .values("day", "severity")
        .annotate(n=Count("id"))
        .order_by("day", "severity")
    )
    return list(rows)


def _speed_rows(filters: ReportFilters, bucket: str):
    """Per alert: detector, analyst, day/week, and its three speeds in seconds (NULL when unknown).

    Two branches of a UNION ALL (percentiles ignore NULLs): every alert with its time to detect
    and to acknowledge; and the alerts joined to their succeeded actions, grouped per alert, with
    the time to remediate. No correlated sub-query: both databases join in one pass (a per-alert
    sub-query made SQLite scan all actions for each alert).
    """
    alerts = alerts_filtered(Alert.objects.all(), filters)

    def unknown():
        return Value(None, output_field=FloatField())

    def groups(prefix: str = ""):
        created = f"{prefix}created_at"
        return {
            "a": F(f"{prefix}pk"),
            "g_detector": F(f"{prefix}detector"),
            "g_analyst": Coalesce(F(f"{prefix}assignee__username"), Value(""), output_field=CharField()),
            "g_bucket": TruncDate(created) if bucket == "day" else TruncWeek(created),
        }

    detected = alerts.values(
        **groups(),
        ttd=SecondsBetween(F("created_at"), F("first_activity_at")),
        tta=SecondsBetween(F("acknowledged_at"), F("created_at")),
        ttr=unknown(),
    )
    # "Not an undo" as COALESCE(undo_of_id, 0) = 0: with IS NULL, SQLite takes the unique undo_of
    # index for a one-row lookup and plans the join from the actions side.
    remediated = (
        alerts.filter(
            Exact(Coalesce("investigations__actions__undo_of_id", 0), 0),
            investigations__actions__status=Action.Status.SUCCEEDED,
        )
        .values(**groups(), ttd=unknown(), tta=unknown())
        .annotate(ttr=SecondsBetween(Max("investigations__actions__finished_at"), F("created_at")))
    )
    return detected.order_by().union(remediated.order_by(), all=True)


def speed_metrics(*, filters: ReportFilters) -> SpeedMetrics:
    """Medians and p90 of the three speeds: overall, per detector, per analyst, per day or week
    (one query on PostgreSQL), and overall for the previous period (one more)."""
    bucket = "day" if filters.days <= 31 else "week"
    values = list(SPEEDS)
    groupings = [(), ("g_detector",), ("g_analyst",), ("g_bucket",)]
    current = duration_percentiles(_speed_rows(filters, bucket), groupings=groupings, values=values)
    previous = duration_percentiles(_speed_rows(filters.previous(), bucket), groupings=[()], values=values)
    empty = dict.fromkeys(SPEEDS, EMPTY)

    def by(column: str) -> dict:
        return {key[0]: stats for key, stats in current[(column,)].items()}

    trend = sorted((_as_date(day), stats) for day, stats in by("g_bucket").items())
    return SpeedMetrics(
        current=current[()].get((), empty),
        previous=previous[()].get((), empty),
        by_detector=dict(sorted(by("g_detector").items())),
        by_analyst=dict(sorted(by("g_analyst").items())),
        trend=trend,
        bucket=bucket,
    )


def _as_date(value) -> date:
    """A bucket as a date: raw SQL gives SQLite's text or PostgreSQL's date/timestamp."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") else value


def action_decisions_by_kind(*, filters: ReportFilters) -> list[dict]:
    """Per action kind: approved by a person, rejected, run automatically (automation level)."""
    rows = (
        actions_filtered(Action.objects.filter(undo_of__isnull=True), filters)
        .values("kind")
        .annotate(
            approved=Count("id", filter=Q(approved_at__isnull=False, automated=False)),
            rejected=Count("id", filter=Q(rejected_at__isnull=False)),
            automated=Count("id", filter=Q(automated=True)),
            total=Count("id"),
        )
        .order_by("kind")
    )
    labels = dict(Action.Kind.choices)
    return [{**row, "label": labels.get(row["kind"], row["kind"])} for row in rows]


def policy_quality(*, filters: ReportFilters) -> list[dict]:
    """Per policy: classified alerts and the share that were false (or benign) positives."""
    classes = Alert.Classification
    rows = (
        alerts_filtered(Alert.objects.all(), filters)
        .values("detector")
        .annotate(
            total=Count("id"),
            true_positive=Count("id", filter=Q(classification=classes.TRUE_POSITIVE)),
            benign_positive=Count("id", filter=Q(classification=classes.BENIGN_POSITIVE)),
            false_positive=Count("id", filter=Q(classification=classes.FALSE_POSITIVE)),
        )
        .order_by("detector")
    )
    names = dict(AlertPolicy.objects.values_list("detector", "name"))
    result = []
    for row in rows:
        classified = row["true_positive"] + row["benign_positive"] + row["false_positive"]
        result.append(
            {
                **row,
                "name": names.get(row["detector"], row["detector"]),
                "classified": classified,
                "tp_rate": row["true_positive"] / classified if classified else None,
                "fp_rate": row["false_positive"] / classified if classified else None,
            }
        )
    return sorted(result, key=lambda row: (row["fp_rate"] is None, -(row["fp_rate"] or 0), row["detector"]))


def overdue_actions(*, filters: ReportFilters, sla_minutes: int):
    """Actions waiting for approval longer than the SLA now (not bound to the period)."""
    deadline = timezone.now() - timedelta(minutes=sla_minutes)
    queryset = Action.objects.filter(status=Action.Status.PENDING_APPROVAL, created_at__lt=deadline)
    if filters.user:
        queryset = queryset.filter(identity__upn__icontains=filters.user)
    if filters.department:
        queryset = queryset.filter(identity__department__iexact=filters.department)
    return queryset.order_by("created_at", "id")


def most_targeted_users(*, filters: ReportFilters) -> list[dict]:
    """The identities with the most alerts in the period."""
    rows = (
        alerts_filtered(Alert.objects.filter(identity__isnull=False), filters)
        .values("identity_id", "identity__upn", "identity__display_name", "identity__department")
        .annotate(n=Count("id"), high=Count("id", filter=Q(severity=Severity.HIGH)))
        .order_by("-n", "identity__upn")[:TOP_TARGETS]
    )
    return list(rows)

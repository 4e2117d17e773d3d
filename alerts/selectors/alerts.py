"""Alerts: the queue, one alert, the API's list and the dashboard's alert widgets.

One filter (``AlertFilters``) serves the queue page and ``/api/v1/alerts/``. Every function
answers in a fixed number of queries whatever the page size; the queue pages with a keyset
cursor (see ``airportal.keyset``), never an OFFSET.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from airportal.errors import NotFound
from airportal.keyset import Page, SortKey, keyset_page
from airportal.roles import Role
from alerts.models import SEVERITY_RANK, Alert, Event, Identity

OPEN_STATUSES = (Alert.Status.NEW, Alert.Status.IN_PROGRESS)

SEVERITY_ORDER = Case(
    *[When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()],
    output_field=IntegerField(),
)

SORTS: dict[str, tuple[SortKey, ...]] = {
    "newest": (SortKey("created_at", True, datetime), SortKey("id", True, int)),
    "oldest": (SortKey("created_at", False, datetime), SortKey("id", False, int)),
    "severity": (SortKey("severity_rank", True, int), SortKey("created_at", True, datetime), SortKey("id", True, int)),
    "activity": (SortKey("last_activity_at", True, datetime), SortKey("id", True, int)),
}

QUEUE_FIELDS = (
    "id",
    "title",
    "detector",
    "severity",
    "status",
    "classification",
    "event_count",
    "created_at",
    "last_activity_at",
    "closed_at",
    "identity__id",
    "identity__upn",
    "identity__display_name",
    "identity__is_vip",
    "assignee__id",
    "assignee__username",
)


@dataclass(frozen=True)
class AlertFilters:
    """Which alerts to show. Empty fields do not filter.

    ``user`` is a UPN (case-insensitive); ``statuses`` and ``severities`` may list several
    values; ``text`` matches the title or a part of the UPN; ``sort`` is a key of ``SORTS``.
    """

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    detector: str = ""
    user: str = ""
    assignee: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    sort: str = "newest"


def _filtered(filters: AlertFilters) -> QuerySet:
    alerts = Alert.objects.all()
    if filters.statuses:
        alerts = alerts.filter(status__in=filters.statuses)
    if filters.severities:
        alerts = alerts.filter(severity__in=filters.severities)
    if filters.detector:
        alerts = alerts.filter(detector=filters.detector)
    if filters.user:
        alerts = alerts.filter(identity__upn=filters.user.strip().lower())
    if filters.assignee:
        alerts = alerts.filter(assignee__username=filters.assignee)
    if filters.since:
        alerts = alerts.filter(created_at__gte=filters.since)
    if filters.until:
        alerts = alerts.filter(created_at__lt=filters.until)
    if filters.text:
        # The UPN part is resolved in a subquery on the small identities table, so the OR
        # stays on the alerts table (and its trigram index on PostgreSQL).
        identities = Identity.objects.filter(upn__icontains=filters.text).values("id")
        alerts = alerts.filter(Q(title__icontains=filters.text) | Q(identity_id__in=identities))
    return alerts


def _with_investigation(alerts: QuerySet) -> QuerySet:
    """Each alert's ``investigation_id``: the latest investigation it joined, or None (a subquery).

    The investigations app links alerts to investigations; alerts reads the link table through
    the reverse relation without importing that app.
    """
    links = Alert.investigations.through.objects.filter(alert_id=OuterRef("pk")).order_by("-investigation_id")
    return alerts.annotate(investigation_id=Subquery(links.values("investigation_id")[:1]))


def alert_list(*, filters: AlertFilters) -> QuerySet:
    """The API's list: newest first by ``id`` (monotonic with creation), so a keyset paginator
    walks it with an index range scan; ``filters.sort`` does not apply."""
    return _with_investigation(_filtered(filters).select_related("identity", "assignee")).order_by("-id")


def alert_page(*, filters: AlertFilters, cursor: str | None = None, limit: int = 50) -> Page:
    """One page of the queue: alerts with identity and assignee, in the requested order."""
    keys = SORTS.get(filters.sort, SORTS["newest"])
    alerts = _filtered(filters).select_related("identity", "assignee").only(*QUEUE_FIELDS)
    if filters.sort == "severity":
        alerts = alerts.annotate(severity_rank=SEVERITY_ORDER)
    return keyset_page(alerts, keys=keys, cursor=cursor, limit=limit)


def alert_count(*, filters: AlertFilters) -> int:
    return _filtered(filters).count()


def alert_new_counts(*, after_id: int | None = None) -> dict[str, int]:
    """How many alerts are new, and how many of them arrived after alert ``after_id``."""
    counts = Alert.objects.filter(status=Alert.Status.NEW).aggregate(
        total=Count("id"), arrived=Count("id", filter=Q(id__gt=after_id or 0))
    )
    return {"total": counts["total"], "arrived": counts["arrived"] if after_id else 0}


def alert_latest_id() -> int:
    return Alert.objects.order_by("-id").values_list("id", flat=True).first() or 0


def alert_get(*, alert_id: int) -> Alert:
    """The alert with its identity, assignee and policy; ``NotFound`` when there is none."""
    alert = (
        _with_investigation(Alert.objects.select_related("identity", "assignee", "policy")).filter(pk=alert_id).first()
    )
    if alert is None:
        raise NotFound(f"No alert {alert_id}.")
    return alert


def alert_events(*, alert: Alert, limit: int = 200) -> list[Event]:
    """The events the alert rests on, oldest first, without their (large) raw records."""
    return list(alert.events.defer("raw", "attributes").order_by("occurred_at", "id")[:limit])


def alert_open_count(*, identity: Identity) -> int:
    """How many of the identity's alerts are new or in progress."""
    return Alert.objects.filter(identity=identity, status__in=OPEN_STATUSES).count()


def alert_counts_by_severity(*, statuses=(Alert.Status.NEW,)) -> dict[str, int]:
    rows = Alert.objects.filter(status__in=statuses).values_list("severity").annotate(n=Count("id"))
    counts = {severity: 0 for severity in reversed(list(SEVERITY_RANK))}
    counts.update(dict(rows))
    return counts


def alerts_per_day_by_detector(*, days: int = 14, today: date | None = None) -> tuple[list[date], list[tuple]]:
    """The last ``days`` days (UTC) and (day, detector, count) rows of alerts raised on them."""
    today = today or timezone.now().date()
    day_list = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    start = datetime.combine(day_list[0], datetime.min.time(), tzinfo=UTC)
    rows = (
        Alert.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "detector")
        .annotate(n=Count("id"))
        .order_by()
    )
    return day_list, list(rows)


def triage_assignees() -> list:
    """People an alert can be assigned to: active users whose role may triage."""
    roles = [role.value for role in (Role.ANALYST, Role.MANAGER, Role.ADMIN)]
    users = get_user_model().objects.filter(is_active=True, groups__name__in=roles).distinct().order_by("username")
    return list(users.only("id", "username"))

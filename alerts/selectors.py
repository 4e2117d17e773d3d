"""Shared reads of the detection side: alerts for the API, policies for the Policies page.

``alert_list`` returns a queryset ordered newest first by ``id`` (monotonic with creation), so
keyset pagination walks it with an index range scan; every filter is an indexed column.
"""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from alerts.models import Alert, AlertPolicy, AlertPolicyVersion, AlertSuppression, Event


@dataclass(frozen=True)
class AlertFilters:
    """``user`` is a UPN (case-insensitive); ``status`` and ``severity`` may list several values."""

    user: str = ""
    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    detector: str = ""
    assignee: str = ""


def _with_investigation(alerts: QuerySet) -> QuerySet:
    """Each alert's ``investigation_id``: the latest investigation it joined, or None (a subquery).

    The investigations app links alerts to investigations; alerts reads the link table through
    the reverse relation without importing that app.
    """
    links = Alert.investigations.through.objects.filter(alert_id=OuterRef("pk")).order_by("-investigation_id")
    return alerts.annotate(investigation_id=Subquery(links.values("investigation_id")[:1]))


def alert_list(*, filters: AlertFilters) -> QuerySet:
    alerts = _with_investigation(Alert.objects.select_related("identity", "assignee"))
    if filters.user:
        alerts = alerts.filter(identity__upn=filters.user.strip().lower())
    if filters.status:
        alerts = alerts.filter(status__in=filters.status)
    if filters.severity:
        alerts = alerts.filter(severity__in=filters.severity)
    if filters.detector:
        alerts = alerts.filter(detector=filters.detector)
    if filters.assignee:
        alerts = alerts.filter(assignee__username=filters.assignee)
    return alerts.order_by("-id")


def alert_detail(*, alert_id: int, events_limit: int = 100) -> Alert | None:
    """The alert with its identity, assignee and first ``events_limit`` events (two queries)."""
    events = Event.objects.order_by("occurred_at", "id").defer("raw")[:events_limit]
    return (
        _with_investigation(Alert.objects.select_related("identity", "assignee", "policy"))
        .prefetch_related(Prefetch("events", queryset=events, to_attr="event_list"))
        .filter(pk=alert_id)
        .first()
    )


def policy_list() -> QuerySet:
    """Every policy with its count of active suppressions and who saved it last (one query)."""
    now = timezone.now()
    active = Q(suppressions__ended_at__isnull=True, suppressions__expires_at__gt=now)
    return (
        AlertPolicy.objects.select_related("updated_by")
        .annotate(active_suppressions=Count("suppressions", filter=active))
        .order_by("name")
    )


def policy_versions(*, policy: AlertPolicy, limit: int = 50) -> list[AlertPolicyVersion]:
    return list(policy.versions.select_related("changed_by").order_by("-version")[:limit])


def policy_suppressions(*, policy: AlertPolicy) -> tuple[list[AlertSuppression], list[AlertSuppression]]:
    """(active, past) suppressions of the policy, newest first."""
    now = timezone.now()
    rows = list(policy.suppressions.select_related("created_by", "ended_by").order_by("-created_at", "-id")[:200])
    active = [s for s in rows if s.ended_at is None and s.expires_at > now]
    return active, [s for s in rows if s not in active]

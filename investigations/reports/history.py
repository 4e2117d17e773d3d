"""Investigation history: closed investigations, and the read-only record of one of them."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from airportal.keyset import Page, SortKey, keyset_page
from airportal.models import AuditEntry
from alerts.models import Alert
from investigations.models import Action, Finding, Investigation, InvestigationStep
from investigations.reports.filters import ReportFilters, investigations_filtered

HISTORY_KEYS = [SortKey("created_at", kind=datetime), SortKey("id")]
PAGE_SIZE = 50


def _count(model, field: str):
    """A correlated COUNT, so counting alerts and actions does not multiply the rows."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def closed_investigations(*, filters: ReportFilters) -> QuerySet:
    """Closed investigations matching ``filters``, with their identity and alert/action counts."""
    queryset = Investigation.objects.exclude(status__in=Investigation.OPEN_STATUSES)
    return (
        investigations_filtered(queryset, filters)
        .select_related("identity")
        .annotate(
            alert_count=_count(Investigation.alerts.through, "investigation"),
            action_count=_count(Action, "investigation"),
        )
    )


def investigation_history(*, filters: ReportFilters, cursor: str | None, limit: int = PAGE_SIZE) -> Page:
    """One keyset page of the history, newest first."""
    return keyset_page(closed_investigations(filters=filters), keys=HISTORY_KEYS, cursor=cursor, limit=limit)


@dataclass
class InvestigationRecord:
    """Everything that happened in one investigation, for the record page and the printable report."""

    investigation: Investigation
    alerts: list[Alert]
    findings: list[Finding]
    actions: list[Action]
    steps: list[InvestigationStep]
    decisions: list[AuditEntry]


def investigation_record(*, pk: int) -> InvestigationRecord:
    """The record of investigation ``pk`` (404 if missing), in a fixed number of queries."""
    investigation = get_object_or_404(Investigation.objects.select_related("identity", "started_by"), pk=pk)
    actions = list(
        investigation.actions.select_related(
            "approved_by", "second_approved_by", "rejected_by", "proposed_by", "undo_of"
        ).order_by("created_at", "id")
    )
    action_ids = [str(action.pk) for action in actions]
    decisions = AuditEntry.objects.filter(
        Q(object_type="investigations.investigation", object_id=str(pk))
        | Q(object_type="investigations.action", object_id__in=action_ids)
    ).order_by("occurred_at", "id")
    return InvestigationRecord(
        investigation=investigation,
        alerts=list(investigation.alerts.order_by("created_at", "id")),
        findings=list(investigation.findings.order_by("id")),
        actions=actions,
        steps=list(investigation.steps.order_by("at", "id")),
        decisions=list(decisions),
    )

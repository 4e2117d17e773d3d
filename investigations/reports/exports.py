"""CSV exports of alerts, investigations and actions: the same filters as the pages, streamed."""

from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

from django import forms

from airportal.exports import Column
from alerts.models import Alert
from investigations.models import Action
from investigations.reports.filters import (
    ActionFilterForm,
    AlertFilterForm,
    InvestigationFilterForm,
    ReportFilters,
    actions_filtered,
    alerts_filtered,
)
from investigations.reports.history import closed_investigations

CHUNK = 2000


@dataclass(frozen=True)
class FieldColumn(Column):
    """A column read from a ``values()`` dict; ``lookup`` is the field the query selects."""

    lookup: str = ""


def _columns(*names: str) -> list[FieldColumn]:
    """``"user=identity__upn"`` → header ``user`` from lookup ``identity__upn``; ``"id"`` → both ``id``."""
    columns = []
    for name in names:
        header, _, lookup = name.partition("=")
        columns.append(FieldColumn(header, itemgetter(lookup or header), lookup or header))
    return columns


ALERT_COLUMNS = _columns(
    "id",
    "created_at",
    "detector",
    "severity",
    "status",
    "classification",
    "user=identity__upn",
    "department=identity__department",
    "title",
    "assignee=assignee__username",
    "first_activity_at",
    "last_activity_at",
    "acknowledged_at",
    "closed_at",
    "event_count",
)

INVESTIGATION_COLUMNS = _columns(
    "id",
    "created_at",
    "user=identity__upn",
    "department=identity__department",
    "playbook",
    "status",
    "verdict",
    "risk_score",
    "alerts=alert_count",
    "actions=action_count",
    "started_at",
    "finished_at",
    "summary",
)

ACTION_COLUMNS = _columns(
    "id",
    "investigation=investigation_id",
    "created_at",
    "user=identity__upn",
    "department=identity__department",
    "kind",
    "target",
    "status",
    "impact",
    "automated",
    "approved_by=approved_by__username",
    "approved_at",
    "second_approved_by=second_approved_by__username",
    "second_approved_at",
    "rejected_by=rejected_by__username",
    "rejected_at",
    "decision_comment",
    "attempts",
    "error",
    "finished_at",
)


def _stream(queryset, columns: list[FieldColumn]) -> Iterable[dict]:
    """Plain dicts, not model instances: several times faster on exports of 100,000s of rows."""
    return queryset.order_by("-created_at", "-id").values(*[c.lookup for c in columns]).iterator(chunk_size=CHUNK)


def alert_rows(filters: ReportFilters) -> Iterable[dict]:
    return _stream(alerts_filtered(Alert.objects.all(), filters), ALERT_COLUMNS)


def investigation_rows(filters: ReportFilters) -> Iterable[dict]:
    return _stream(closed_investigations(filters=filters), INVESTIGATION_COLUMNS)


def action_rows(filters: ReportFilters) -> Iterable[dict]:
    return _stream(actions_filtered(Action.objects.all(), filters), ACTION_COLUMNS)


@dataclass(frozen=True)
class Dataset:
    """One exportable dataset: its filter form, its rows and its columns."""

    label: str
    form: type[forms.Form]
    rows: object
    columns: list[Column]


DATASETS = {
    "alerts": Dataset("Alerts", AlertFilterForm, alert_rows, ALERT_COLUMNS),
    "investigations": Dataset(
        "Closed investigations", InvestigationFilterForm, investigation_rows, INVESTIGATION_COLUMNS
    ),
    "actions": Dataset("Actions", ActionFilterForm, action_rows, ACTION_COLUMNS),
}

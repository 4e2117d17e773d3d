"""CSV exports of alerts, investigations and actions: the same filters as the pages, streamed."""

from collections.abc import Iterable
from dataclasses import dataclass

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


def _username(user) -> str:
    return user.get_username() if user is not None else ""


ALERT_COLUMNS = [
    Column("id", lambda a: a.pk),
    Column("created_at", lambda a: a.created_at),
    Column("detector", lambda a: a.detector),
    Column("severity", lambda a: a.severity),
    Column("status", lambda a: a.status),
    Column("classification", lambda a: a.classification),
    Column("user", lambda a: a.identity.upn),
    Column("department", lambda a: a.identity.department),
    Column("title", lambda a: a.title),
    Column("assignee", lambda a: _username(a.assignee)),
    Column("first_activity_at", lambda a: a.first_activity_at),
    Column("last_activity_at", lambda a: a.last_activity_at),
    Column("acknowledged_at", lambda a: a.acknowledged_at),
    Column("closed_at", lambda a: a.closed_at),
    Column("event_count", lambda a: a.event_count),
]

INVESTIGATION_COLUMNS = [
    Column("id", lambda i: i.pk),
    Column("created_at", lambda i: i.created_at),
    Column("user", lambda i: i.identity.upn),
    Column("department", lambda i: i.identity.department),
    Column("playbook", lambda i: i.playbook),
    Column("status", lambda i: i.status),
    Column("verdict", lambda i: i.verdict),
    Column("risk_score", lambda i: i.risk_score),
    Column("alerts", lambda i: i.alert_count),
    Column("actions", lambda i: i.action_count),
    Column("started_at", lambda i: i.started_at),
    Column("finished_at", lambda i: i.finished_at),
    Column("summary", lambda i: i.summary),
]

ACTION_COLUMNS = [
    Column("id", lambda a: a.pk),
    Column("investigation", lambda a: a.investigation_id),
    Column("created_at", lambda a: a.created_at),
    Column("user", lambda a: a.identity.upn),
    Column("department", lambda a: a.identity.department),
    Column("kind", lambda a: a.kind),
    Column("target", lambda a: a.target),
    Column("status", lambda a: a.status),
    Column("impact", lambda a: a.impact),
    Column("automated", lambda a: a.automated),
    Column("approved_by", lambda a: _username(a.approved_by)),
    Column("approved_at", lambda a: a.approved_at),
    Column("second_approved_by", lambda a: _username(a.second_approved_by)),
    Column("second_approved_at", lambda a: a.second_approved_at),
    Column("rejected_by", lambda a: _username(a.rejected_by)),
    Column("rejected_at", lambda a: a.rejected_at),
    Column("decision_comment", lambda a: a.decision_comment),
    Column("attempts", lambda a: a.attempts),
    Column("error", lambda a: a.error),
    Column("finished_at", lambda a: a.finished_at),
]


def alert_rows(filters: ReportFilters) -> Iterable[Alert]:
    queryset = alerts_filtered(Alert.objects.select_related("identity", "assignee"), filters)
    return queryset.order_by("-created_at", "-id").iterator(chunk_size=CHUNK)


def investigation_rows(filters: ReportFilters) -> Iterable:
    return closed_investigations(filters=filters).order_by("-created_at", "-id").iterator(chunk_size=CHUNK)


def action_rows(filters: ReportFilters) -> Iterable[Action]:
    queryset = actions_filtered(
        Action.objects.select_related("identity", "approved_by", "second_approved_by", "rejected_by"), filters
    )
    return queryset.order_by("-created_at", "-id").iterator(chunk_size=CHUNK)


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

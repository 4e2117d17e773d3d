"""The filters every report shares: a period, a detector, an analyst, a user, a department.

A filter form validates the query string; ``ReportFilters`` is what selectors receive. Each
entity (alert, investigation, action) applies the same filters through its own fields, so a
CSV export always holds exactly the rows the page shows.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from airportal.roles import Role
from alerts.models import Alert, AlertPolicy, Severity
from investigations.models import Action, Investigation

PERIOD_CHOICES = [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days")]
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class ReportFilters:
    """Validated filters. ``start``/``end`` bound the period (end exclusive)."""

    start: datetime
    end: datetime
    detector: str = ""
    analyst: str = ""
    user: str = ""
    department: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> "ReportFilters":
        """The same filters over the period of equal length just before this one."""
        span = self.end - self.start
        return ReportFilters(
            start=self.start - span,
            end=self.start,
            detector=self.detector,
            analyst=self.analyst,
            user=self.user,
            department=self.department,
            extra=self.extra,
        )


def _staff_choices() -> list[tuple[str, str]]:
    staff = (
        get_user_model()
        .objects.filter(groups__name__in=[Role.ANALYST, Role.MANAGER, Role.ADMIN])
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )
    return [("", "Any analyst")] + [(name, name) for name in staff]


def _detector_choices() -> list[tuple[str, str]]:
    policies = AlertPolicy.objects.order_by("name").values_list("detector", "name")
    return [("", "Any detector")] + [(detector, name) for detector, name in policies]


class ReportFilterForm(forms.Form):
    """Period (a preset, or from/to dates) and who/what the report is about."""

    period = forms.ChoiceField(
        choices=PERIOD_CHOICES + [("custom", "From … to …")], required=False, initial=str(DEFAULT_PERIOD_DAYS)
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    detector = forms.ChoiceField(required=False)
    analyst = forms.ChoiceField(required=False)
    user = forms.CharField(required=False, max_length=320, label="User (UPN)")
    department = forms.CharField(required=False, max_length=256)

    extra_fields: tuple[str, ...] = ()

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data else None, **kwargs)
        self.fields["detector"].choices = _detector_choices()
        self.fields["analyst"].choices = _staff_choices()

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period") or str(DEFAULT_PERIOD_DAYS)
        now = timezone.now()
        if period == "custom" or cleaned.get("since") or cleaned.get("until"):
            since, until = cleaned.get("since"), cleaned.get("until")
            end = _day_start(until) + timedelta(days=1) if until else now
            start = _day_start(since) if since else end - timedelta(days=DEFAULT_PERIOD_DAYS)
            if start >= end:
                raise forms.ValidationError("The period's start must be before its end.")
            if end - start > timedelta(days=MAX_PERIOD_DAYS):
                raise forms.ValidationError(f"A period can span at most {MAX_PERIOD_DAYS} days.")
        else:
            end, start = now, now - timedelta(days=int(period))
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def filters(self) -> ReportFilters:
        """The validated filters; the default period when the form is unbound or invalid."""
        if not self.is_bound or not self.is_valid():
            end = timezone.now()
            return ReportFilters(start=end - timedelta(days=DEFAULT_PERIOD_DAYS), end=end)
        data = self.cleaned_data
        return ReportFilters(
            start=data["start"],
            end=data["end"],
            detector=data.get("detector") or "",
            analyst=data.get("analyst") or "",
            user=(data.get("user") or "").strip().lower(),
            department=(data.get("department") or "").strip(),
            extra={name: data.get(name) for name in self.extra_fields if data.get(name) not in (None, "")},
        )


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _choices(model_choices, any_label: str) -> list[tuple[str, str]]:
    return [("", any_label)] + [(value, label) for value, label in model_choices if value]


class InvestigationFilterForm(ReportFilterForm):
    verdict = forms.ChoiceField(required=False, choices=_choices(Investigation.Verdict.choices, "Any verdict"))
    status = forms.ChoiceField(
        required=False,
        choices=_choices(
            [(v, label) for v, label in Investigation.Status.choices if v not in Investigation.OPEN_STATUSES],
            "Any closed status",
        ),
    )
    extra_fields = ("verdict", "status")


class AlertFilterForm(ReportFilterForm):
    severity = forms.ChoiceField(required=False, choices=_choices(Severity.choices, "Any severity"))
    status = forms.ChoiceField(required=False, choices=_choices(Alert.Status.choices, "Any status"))
    classification = forms.ChoiceField(
        required=False, choices=_choices(Alert.Classification.choices, "Any classification")
    )
    extra_fields = ("severity", "status", "classification")


class ActionFilterForm(ReportFilterForm):
    kind = forms.ChoiceField(required=False, choices=_choices(Action.Kind.choices, "Any kind"))
    status = forms.ChoiceField(required=False, choices=_choices(Action.Status.choices, "Any status"))
    extra_fields = ("kind", "status")


# --- Applying the filters, per entity --------------------------------------------------------------


def _identity_q(filters: ReportFilters, prefix: str) -> Q:
    q = Q()
    if filters.user:
        q &= Q(**{f"{prefix}upn__icontains": filters.user})
    if filters.department:
        q &= Q(**{f"{prefix}department__iexact": filters.department})
    return q


def _decided_by(username: str, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}approved_by__username": username})
        | Q(**{f"{prefix}second_approved_by__username": username})
        | Q(**{f"{prefix}rejected_by__username": username})
    )


def alerts_filtered(queryset: QuerySet, filters: ReportFilters) -> QuerySet:
    """Alerts raised in the period; the analyst is the assignee."""
    queryset = queryset.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    queryset = queryset.filter(_identity_q(filters, "identity__"))
    if filters.detector:
        queryset = queryset.filter(detector=filters.detector)
    if filters.analyst:
        queryset = queryset.filter(assignee__username=filters.analyst)
    extra = filters.extra
    if extra.get("severity"):
        queryset = queryset.filter(severity=extra["severity"])
    if extra.get("status"):
        queryset = queryset.filter(status=extra["status"])
    if extra.get("classification"):
        queryset = queryset.filter(classification=extra["classification"])
    return queryset


def _raised_by(detector: str, *, investigation: str) -> Exists:
    """The investigation (the outer row's field ``investigation``) has an alert of ``detector``."""
    alerts = Investigation.alerts.through.objects.filter(
        investigation=OuterRef(investigation), alert__detector=detector
    )
    return Exists(alerts)


def investigations_filtered(queryset: QuerySet, filters: ReportFilters) -> QuerySet:
    """Investigations created in the period; the analyst started it or decided one of its actions."""
    queryset = queryset.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    queryset = queryset.filter(_identity_q(filters, "identity__"))
    if filters.detector:
        queryset = queryset.filter(_raised_by(filters.detector, investigation="pk"))
    if filters.analyst:
        decided = Action.objects.filter(_decided_by(filters.analyst), investigation=OuterRef("pk"))
        queryset = queryset.filter(Q(started_by__username=filters.analyst) | Exists(decided))
    extra = filters.extra
    if extra.get("verdict"):
        queryset = queryset.filter(verdict=extra["verdict"])
    if extra.get("status"):
        queryset = queryset.filter(status=extra["status"])
    return queryset


def actions_filtered(queryset: QuerySet, filters: ReportFilters) -> QuerySet:
    """Actions proposed in the period; the analyst approved or rejected it."""
    queryset = queryset.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    queryset = queryset.filter(_identity_q(filters, "identity__"))
    if filters.detector:
        queryset = queryset.filter(_raised_by(filters.detector, investigation="investigation_id"))
    if filters.analyst:
        queryset = queryset.filter(_decided_by(filters.analyst))
    extra = filters.extra
    if extra.get("kind"):
        queryset = queryset.filter(kind=extra["kind"])
    if extra.get("status"):
        queryset = queryset.filter(status=extra["status"])
    return queryset

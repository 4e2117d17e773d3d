"""Input of the alert queue and the alert page: queue filters and triage decisions."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from alerts.detectors.registry import DETECTORS
from alerts.models import Alert, Severity
from alerts.selectors.alerts import OPEN_STATUSES, SORTS, AlertFilters

PERIODS = {
    "": ("Any time", None),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(days=1)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}

STATUS_CHOICES = [("open", "Open (new or in progress)"), *Alert.Status.choices, ("all", "Any status")]
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "severity": "Severity",
    "activity": "Latest activity",
}


class AlertQueueFilterForm(forms.Form):
    severity = forms.MultipleChoiceField(
        choices=[(s.value, s.label) for s in reversed(Severity)], required=False, widget=forms.CheckboxSelectMultiple
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    detector = forms.ChoiceField(
        choices=[("", "Any detector")] + [(key, detector.name) for key, detector in DETECTORS.items()], required=False
    )
    user = forms.CharField(label="User (UPN)", max_length=320, required=False)
    period = forms.ChoiceField(
        label="Raised", choices=[(k, label) for k, (label, _) in PERIODS.items()], required=False
    )
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(label="Contains", max_length=200, required=False)
    sort = forms.ChoiceField(choices=list(SORT_LABELS.items()), required=False)

    def filters(self) -> AlertFilters:
        """The validated filters; invalid fields fall back to their defaults (errors are shown)."""
        data = self.cleaned_data if self.is_valid() else {}
        since = until = None
        period = PERIODS.get(data.get("period") or "", PERIODS[""])[1]
        if period:
            since = timezone.now() - period
        if data.get("since"):
            since = datetime.combine(data["since"], time.min, tzinfo=timezone.get_current_timezone())
        if data.get("until"):
            until = datetime.combine(
                data["until"] + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
            )
        status = data.get("status") or "open"
        statuses = OPEN_STATUSES if status == "open" else () if status == "all" else (status,)
        return AlertFilters(
            severities=tuple(data.get("severity") or ()),
            statuses=statuses,
            detector=data.get("detector") or "",
            user=data.get("user") or "",
            since=since,
            until=until,
            text=(data.get("text") or "").strip(),
            sort=data.get("sort") if data.get("sort") in SORTS else "newest",
        )


class IdsField(forms.ModelMultipleChoiceField):
    """Several rows chosen by primary key; ids that no database integer can hold are refused
    before they reach a query (SQLite raises on them instead of matching nothing)."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not text.isdigit() or int(text) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": text[:30]}
                )
        return super()._check_values(value)


class BulkTriageForm(forms.Form):
    """A decision on one or several alerts: assign them, close them with a classification, reopen them.

    The rules (which classification fits which status, who may be assigned) are the triage
    services'; the form only reads the request.
    """

    OPERATIONS = [("assign", "Assign"), ("resolve", "Resolve"), ("dismiss", "Dismiss"), ("reopen", "Reopen")]

    alert = IdsField(
        queryset=Alert.objects.only("id"),
        error_messages={
            "required": "Select at least one alert.",
            "invalid_choice": "One of the alerts is gone.",
            "invalid_pk_value": "“%(pk)s” is not an alert.",
        },
    )
    operation = forms.ChoiceField(choices=OPERATIONS, error_messages={"required": "Choose what to do."})
    assignee = forms.IntegerField(required=False)
    classification = forms.ChoiceField(choices=Alert.Classification.choices, required=False)
    comment = forms.CharField(max_length=2000, required=False)

"""Input of the action center: the history's filters, decisions, bulk approval."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from alerts.forms.queue import IdsField
from investigations.models import Action
from investigations.selectors.actions import ActionFilters


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class ActionHistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any kind"), *Action.Kind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any outcome")] + [c for c in Action.Status.choices if c[0] != Action.Status.PENDING_APPROVAL],
        required=False,
    )
    decided_by = forms.CharField(label="Decided by", max_length=150, required=False)
    user = forms.CharField(label="User (UPN)", max_length=320, required=False)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> ActionFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return ActionFilters(
            kind=data.get("kind", ""),
            status=data.get("status", ""),
            decided_by=data.get("decided_by", ""),
            user=data.get("user", ""),
            since=_day_start(data["since"]) if data.get("since") else None,
            until=_day_start(data["until"] + timedelta(days=1)) if data.get("until") else None,
        )


class DecisionForm(forms.Form):
    comment = forms.CharField(max_length=2000, required=False, strip=True)


class RejectForm(forms.Form):
    comment = forms.CharField(
        max_length=2000, strip=True, error_messages={"required": "Say why you reject this action."}
    )


class BulkApproveForm(forms.Form):
    action = IdsField(
        queryset=Action.objects.filter(status=Action.Status.PENDING_APPROVAL),
        error_messages={
            "required": "Select at least one action.",
            "invalid_choice": "One of the selected actions is no longer pending.",
            "invalid_pk_value": "“%(pk)s” is not an action.",
        },
    )
    comment = forms.CharField(max_length=2000, required=False, strip=True)

    def clean_action(self):
        actions = self.cleaned_data["action"]
        kinds = {action.kind for action in actions}
        if len(kinds) > 1:
            raise forms.ValidationError("Bulk approval takes actions of one kind at a time.")
        return actions

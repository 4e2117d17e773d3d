"""Input of the investigation pages: the list's filters, starting and stopping the playbook."""

from django import forms

from investigations.models import Investigation
from investigations.selectors.investigations import InvestigationFilters

INVESTIGATION_STATUS_CHOICES = [("", "Any status"), ("open", "Open"), *Investigation.Status.choices]


class InvestigationFilterForm(forms.Form):
    status = forms.ChoiceField(choices=INVESTIGATION_STATUS_CHOICES, required=False)
    verdict = forms.ChoiceField(
        choices=[("", "Any verdict"), *[c for c in Investigation.Verdict.choices if c[0]]], required=False
    )
    user = forms.CharField(label="User (UPN)", max_length=320, required=False)

    def filters(self) -> InvestigationFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return InvestigationFilters(
            status=data.get("status", ""), verdict=data.get("verdict", ""), user=data.get("user", "")
        )


class StartInvestigationForm(forms.Form):
    user = forms.CharField(max_length=320)
    reason = forms.CharField(max_length=2000, strip=True, error_messages={"required": "Say why you start it."})


class TerminateForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True, error_messages={"required": "Say why you stop it."})

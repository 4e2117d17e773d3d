"""Forms of the Policies page. The parameter fields are built from the detector's schema.

Forms only shape input; the services validate again and own every write.
"""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from airportal.errors import DomainError
from alerts.detectors.params import Param
from alerts.detectors.registry import DETECTORS, effective_parameters
from alerts.models import AlertPolicy, AlertSuppression, AutomationLevel, Severity
from alerts.services.policies import policy_parameters_clean

PARAM_PREFIX = "param_"


def _field(param: Param) -> forms.Field:
    common = {"label": param.label, "help_text": param.help}
    if param.kind == "bool":
        return forms.BooleanField(required=False, **common)
    if param.kind == "choice":
        return forms.ChoiceField(choices=[(value, value) for value in param.choices], **common)
    if param.kind == "list":
        return forms.CharField(
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            **{**common, "help_text": f"{param.help} One per line."},
        )
    field = forms.IntegerField if param.kind == "int" else forms.FloatField
    return field(min_value=param.minimum, max_value=param.maximum, **common)


def _initial(param: Param, value):
    return "\n".join(value) if param.kind == "list" else value


class PolicyParametersForm(forms.Form):
    """One field per detector parameter, named ``param_<name>``, initialised from the policy."""

    def __init__(self, *args, policy: AlertPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.detector = DETECTORS[policy.detector]
        current = effective_parameters(self.detector, policy.parameters)
        for param in self.detector.schema:
            self.fields[PARAM_PREFIX + param.name] = _field(param)
            self.fields[PARAM_PREFIX + param.name].initial = _initial(param, current[param.name])

    def parameter_fields(self):
        return [self[name] for name in self.fields if name.startswith(PARAM_PREFIX)]

    def parameters(self) -> dict:
        return {
            name[len(PARAM_PREFIX) :]: value
            for name, value in self.cleaned_data.items()
            if name.startswith(PARAM_PREFIX)
        }

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                policy_parameters_clean(policy=self.policy, parameters=self.parameters())
            except DomainError as error:
                raise ValidationError(error.message)
        return cleaned


class PolicyForm(PolicyParametersForm):
    enabled = forms.BooleanField(required=False, label="Enabled")
    severity = forms.ChoiceField(choices=Severity.choices)
    automation_level = forms.ChoiceField(choices=AutomationLevel.choices, label="Automation level")
    comment = forms.CharField(required=False, max_length=500, label="Why this change", help_text="Kept in the history.")
    version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = ["enabled", "severity", "automation_level"]

    def __init__(self, *args, policy: AlertPolicy, **kwargs):
        super().__init__(*args, policy=policy, **kwargs)
        self.fields["enabled"].initial = policy.enabled
        self.fields["severity"].initial = policy.severity
        self.fields["automation_level"].initial = policy.automation_level
        self.fields["version"].initial = policy.version


class BacktestForm(PolicyParametersForm):
    days = forms.IntegerField(min_value=1, max_value=60, initial=30, label="Days")


class SuppressionForm(forms.Form):
    kind = forms.ChoiceField(choices=AlertSuppression.Kind.choices)
    value = forms.CharField(max_length=320, help_text="user@contoso.com, 203.0.113.0/24 or news.contoso.com")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = forms.DateTimeField(
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_at"].initial = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)

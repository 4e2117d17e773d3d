"""Input of the tenant settings page."""

from django import forms

from airportal.errors import DomainError
from airportal.services import accepted_domains_parse

MAX_SLA_MINUTES = 30 * 24 * 60
# At least the longest window detection and the playbook read back (days), at most ten years.
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 30, 3650
# The investigation look-back reads only what retention keeps.
MAX_LOOKBACK_DAYS = MIN_RETENTION_DAYS


class PortalSettingsForm(forms.Form):
    accepted_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The tenant's own mail domains, one per line. Empty: the domains of the monitored users.",
    )
    four_eyes_action_kinds = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Four-eyes action kinds",
        help_text="These actions need a second approver who is not the first.",
    )
    action_sla_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_SLA_MINUTES, label="Action SLA (minutes)", help_text="Time to decide an action."
    )
    alert_sla_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_SLA_MINUTES, label="Alert SLA (minutes)", help_text="Time to triage an alert."
    )
    event_retention_days = forms.IntegerField(
        min_value=MIN_RETENTION_DAYS,
        max_value=MAX_RETENTION_DAYS,
        label="Event retention (days)",
        help_text="Older events are purged, except those an alert, finding or investigation rests on. "
        "The audit log is never purged.",
    )
    investigation_lookback_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_LOOKBACK_DAYS,
        label="Investigation look-back (days)",
        help_text="How far before the first alert the playbook reads the user's logs. What exists now is read "
        "from the tenant whatever its age.",
    )

    def __init__(self, *args, action_kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["four_eyes_action_kinds"].choices = action_kinds

    def clean_accepted_domains(self) -> list[str]:
        try:
            return accepted_domains_parse(self.cleaned_data["accepted_domains"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from None

"""The notification rule form. Secrets (URL, headers) are write-only: blank keeps what is stored."""

import re

from django import forms
from django.core.validators import validate_email

from investigations.models import NotificationEvent, NotificationRule

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
MAX_DAILY_CAP = 10000


class NotificationRuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, initial=True)
    channel = forms.ChoiceField(choices=NotificationRule.Channel.choices)
    format = forms.ChoiceField(
        choices=NotificationRule.Format.choices, required=False, help_text="For webhooks: the receiver's format."
    )
    url = forms.CharField(
        max_length=1000,
        required=False,
        label="Webhook URL",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "https://…"}),
    )
    recipients = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="For e-mail: one address per line."
    )
    secret_headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text="'Name: value', one per line, e.g. 'Authorization: Bearer …'.",
    )
    clear_secret_headers = forms.BooleanField(required=False, label="Remove the stored secret headers")
    allow_private = forms.BooleanField(
        required=False,
        label="Allow a private or loopback address",
        help_text="Only for an internal receiver; plain http is then accepted towards it.",
    )
    events = forms.MultipleChoiceField(
        choices=[(v, label) for v, label in NotificationEvent.choices if v != NotificationEvent.TEST],
        widget=forms.CheckboxSelectMultiple,
    )
    daily_cap = forms.IntegerField(min_value=1, max_value=MAX_DAILY_CAP, initial=50)

    def __init__(self, *args, rule: NotificationRule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule = rule
        if rule is None:
            del self.fields["clear_secret_headers"]  # nothing stored yet
        else:
            self.fields["url"].help_text = "Stored (not shown). Leave blank to keep it." if rule.url else ""
            self.fields["secret_headers"].help_text = (
                f"{len(rule.secret_headers)} header(s) stored (not shown). Leave blank to keep them."
                if rule.secret_headers
                else self.fields["secret_headers"].help_text
            )

    def clean_recipients(self) -> list[str]:
        recipients = []
        for line in re.split(r"[\s,;]+", self.cleaned_data["recipients"]):
            if not line:
                continue
            try:
                validate_email(line)
            except forms.ValidationError:
                raise forms.ValidationError(f"'{line}' is not an e-mail address.")
            recipients.append(line)
        return recipients

    def clean_secret_headers(self) -> dict[str, str]:
        headers = {}
        for line in self.cleaned_data["secret_headers"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if not sep or not HEADER_NAME.match(name) or not value:
                raise forms.ValidationError("Write each header as 'Name: value' on its own line.")
            headers[name] = value
        return headers

    def clean(self):
        cleaned = super().clean()
        channel = cleaned.get("channel")
        url_given = bool(cleaned.get("url"))
        url_stored = self.rule is not None and bool(self.rule.url)
        if channel == NotificationRule.Channel.WEBHOOK and not (url_given or url_stored):
            self.add_error("url", "A webhook rule needs a URL.")
        if channel == NotificationRule.Channel.EMAIL and not cleaned.get("recipients"):
            self.add_error("recipients", "An e-mail rule needs at least one recipient.")
        return cleaned

    def changes(self) -> dict:
        """The fields for the service; write-only secrets only when newly given."""
        data = self.cleaned_data
        changes = {
            name: data[name]
            for name in ("name", "enabled", "channel", "recipients", "allow_private", "events", "daily_cap")
        }
        changes["format"] = data.get("format") or NotificationRule.Format.GENERIC
        if data.get("url"):
            changes["url"] = data["url"].strip()
        if data.get("secret_headers"):
            changes["secret_headers"] = data["secret_headers"]
        elif data.get("clear_secret_headers"):
            changes["secret_headers"] = {}
        return changes

    @classmethod
    def initial_for(cls, rule: NotificationRule) -> dict:
        """What the edit form shows: everything but the secrets."""
        return {
            "name": rule.name,
            "enabled": rule.enabled,
            "channel": rule.channel,
            "format": rule.format,
            "recipients": "\n".join(rule.recipients),
            "allow_private": rule.allow_private,
            "events": rule.events,
            "daily_cap": rule.daily_cap,
        }

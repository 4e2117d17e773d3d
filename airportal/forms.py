"""Forms of the audit log and the administration pages. They validate; services write."""

from datetime import datetime, time, timedelta

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils import timezone

from airportal.roles import Role

PERSON_ROLES = [(r.value, r.label) for r in (Role.ANALYST, Role.MANAGER, Role.ADMIN)]


def _object_type_choices() -> list[tuple[str, str]]:
    """The model labels audit rows can name (no query: a DISTINCT over the audit log would scan it)."""
    labels = sorted(
        model._meta.label_lower
        for app in ("auth", "airportal", "alerts", "investigations")
        for model in apps.get_app_config(app).get_models()
    )
    return [("", "Any object")] + [(label, label) for label in labels]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, help_text="A username, or 'system'.")
    object_type = forms.ChoiceField(required=False, label="Object")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    verb = forms.CharField(
        required=False, max_length=64, help_text="A verb or its start, e.g. 'action.' or 'user.signed_in'."
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = _object_type_choices()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("'From' must not be after 'To'.")
        return cleaned

    def filters(self) -> dict:
        """Keyword arguments for ``audit_entries``; no filter when the form is invalid."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        result = {key: data[key].strip() for key in ("actor", "object_type", "object_id", "verb") if data.get(key)}
        if data.get("since"):
            result["start"] = timezone.make_aware(datetime.combine(data["since"], time.min))
        if data.get("until"):
            result["end"] = timezone.make_aware(datetime.combine(data["until"], time.min)) + timedelta(days=1)
        return result


class UserInviteForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=PERSON_ROLES, initial=Role.ANALYST)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this username already exists.")
        return username


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiTokenCreateForm(forms.Form):
    """A token acts as a user with a role: usually a service account such as 'ingest-siem'."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="The account the token acts as; created (without a password) if it does not exist.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.INGEST)
    name = forms.CharField(max_length=100, required=False, help_text="What uses it, e.g. 'SIEM forwarder'.")

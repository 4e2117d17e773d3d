"""Input of an identity's timeline: the period and the kinds of events shown."""

from django import forms

from alerts.models import Event


class TimelineForm(forms.Form):
    PERIODS = [("1", "24 hours"), ("7", "7 days"), ("14", "14 days"), ("30", "30 days")]

    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, required=False, empty_value=7)
    kind = forms.MultipleChoiceField(choices=Event.Kind.choices, required=False)

"""Input of the event search."""

from django import forms


class SearchForm(forms.Form):
    q = forms.CharField(label="Search events", max_length=200, required=False, strip=True)

    def clean_q(self):
        return self.cleaned_data["q"].strip()

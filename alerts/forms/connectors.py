"""The Connectors page's form: the app registration, the feeds, the accepted domains."""

from django import forms

from airportal.errors import DomainError
from airportal.services import accepted_domains_parse
from m365.connection import MAX_SECRET_LENGTH
from m365.models import M365Feed

MAX_PEM_BYTES = 64 * 1024


class ConnectorSettingsForm(forms.Form):
    tenant_id = forms.CharField(label="Tenant (directory) id", required=False, max_length=64)
    client_id = forms.CharField(label="Client (application) id", required=False, max_length=64)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=MAX_SECRET_LENGTH,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the stored credential.",
    )
    certificate = forms.FileField(
        label="Or a certificate (PEM)",
        required=False,
        help_text="One .pem file with the unencrypted private key and the certificate uploaded to the app.",
    )
    remove_credential = forms.BooleanField(label="Remove the stored secret or certificate", required=False)
    feeds = forms.MultipleChoiceField(
        label="Feeds to pull", choices=M365Feed.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    accepted_domains = forms.CharField(
        label="Accepted domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "contoso.com\ncontoso.onmicrosoft.com"}),
        help_text="The tenant's own mail domains, one per line: mail to any other domain is external.",
    )

    def __init__(self, *args, environment: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        locked = {
            "tenant_id": "M365_TENANT_ID" in environment,
            "client_id": "M365_CLIENT_ID" in environment,
            "client_secret": bool({"M365_CLIENT_SECRET", "M365_CERTIFICATE_PATH"} & set(environment)),
        }
        locked["certificate"] = locked["remove_credential"] = locked["client_secret"]
        for name, is_locked in locked.items():
            if is_locked:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Set by the environment (M365_* variables): read-only here."

    def clean_certificate(self) -> str:
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return ""
        if upload.size > MAX_PEM_BYTES:
            raise forms.ValidationError("The PEM file is larger than 64 KiB.")
        try:
            return upload.read().decode("ascii")
        except UnicodeDecodeError:
            raise forms.ValidationError("Upload a PEM (text) file, not a PFX or DER file.") from None

    def clean_accepted_domains(self) -> list[str]:
        try:
            return accepted_domains_parse(self.cleaned_data.get("accepted_domains", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

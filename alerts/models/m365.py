"""The Microsoft 365 connection: app registration, which feeds are on, and each feed's checkpoint."""

from django.conf import settings
from django.db import models


class M365Feed(models.TextChoices):
    """What the pull cycle can collect; each is switched on or off on the Connectors page."""

    AUDIT = "audit", "Office 365 audit log (Management Activity API)"
    SIGNINS = "signins", "Entra ID sign-ins (Microsoft Graph)"
    ALERTS = "alerts", "Security alerts (Microsoft Graph alerts_v2)"
    MESSAGE_TRACE = "message_trace", "Exchange Online message trace"


class M365Connection(models.Model):
    """The tenant's app registration (a single row, pk=1).

    The client secret and the certificate are stored encrypted (``alerts.feeds.crypto``); the
    plaintext never leaves ``alerts.feeds.config``. Values from the environment (``M365_*``
    settings) take precedence and are never written here.
    """

    class CredentialKind(models.TextChoices):
        NONE = "", "None"
        SECRET = "secret", "Client secret"
        CERTIFICATE = "certificate", "Certificate"

    tenant_id = models.CharField(max_length=64, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    credential_kind = models.CharField(max_length=16, choices=CredentialKind.choices, blank=True, default="")
    credential_encrypted = models.TextField(blank=True, help_text="Fernet token of the secret or the PEM.")
    credential_hint = models.CharField(
        max_length=128, blank=True, help_text="What the admin may see: the secret's last characters, the thumbprint."
    )
    feeds = models.JSONField(default=list, blank=True, help_text="Enabled feeds (M365Feed values).")
    cycle_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while a pull cycle runs, so two cycles never overlap."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Microsoft 365 connection"

    def __str__(self):
        return f"Microsoft 365 tenant {self.tenant_id or '(not set)'}"


class M365FeedState(models.Model):
    """Where one stream stands: its checkpoint, what was fetched near it, how the last run went.

    ``stream`` is a feed, or for the audit log a feed plus content type (``audit:Audit.Exchange``).
    ``seen`` maps the ids fetched in the overlap window behind the checkpoint to their timestamp, so
    late or re-listed records are fetched once, whatever order they arrive in.
    """

    stream = models.CharField(max_length=64, unique=True)
    checkpoint = models.DateTimeField(null=True, blank=True, help_text="Everything before it has been fetched.")
    seen = models.JSONField(default=dict, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_fetched = models.PositiveIntegerField(default=0, help_text="Records handed to ingest by the last run.")
    total_fetched = models.PositiveBigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Warnings of the last run: expired content, clamped backfill.")

    class Meta:
        ordering = ["stream"]

    def __str__(self):
        return self.stream

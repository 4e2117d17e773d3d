"""The Microsoft 365 connection: the app registration and which feeds are on.

The feeds' checkpoints (``M365FeedState``) belong to the feeds, in ``alerts``.
"""

from django.conf import settings
from django.db import models


class M365Feed(models.TextChoices):
    """What the pull cycle can collect; each is switched on or off on the Connectors page."""

    AUDIT = "audit", "Office 365 audit log (Management Activity API)"
    SIGNINS = "signins", "Entra ID sign-ins (Microsoft Graph)"
    ALERTS = "alerts", "Security alerts (Microsoft Graph alerts_v2)"
    MESSAGE_TRACE = "message_trace", "Exchange Online message trace"
    RISK_DETECTIONS = "risk_detections", "Entra ID Protection risk detections (Microsoft Graph)"


class M365Connection(models.Model):
    """The tenant's app registration (a single row, pk=1).

    The client secret and the certificate are stored encrypted (``m365.crypto``); the
    plaintext never leaves ``m365.config``. Values from the environment (``M365_*``
    settings) take precedence and are never written here. ``cycle_started_at`` is the feeds' claim
    (``alerts.feeds.cycle``). The table keeps the name it had when the model lived in ``alerts``.
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
        db_table = "alerts_m365connection"
        verbose_name = "Microsoft 365 connection"

    def __str__(self):
        return f"Microsoft 365 tenant {self.tenant_id or '(not set)'}"

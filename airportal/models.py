from django.conf import settings
from django.db import models

from airportal.roles import Capability


class CapabilityPermission(models.Model):
    """Holds the permissions of the role table's capabilities (``airportal.<capability>``); it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(Capability.choices)

    def __str__(self):
        return "capability"


class AuditEntry(models.Model):
    """An append-only record of a decision, a configuration change, a sign-in or a token use.

    Rows are only ever inserted (``audit_record``); on PostgreSQL a trigger makes UPDATE
    and DELETE fail, so even a compromised web process cannot rewrite history.
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Username at the time, or 'system'.")
    verb = models.CharField(max_length=64, db_index=True, help_text="What happened, e.g. action.approved")
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.verb} {self.object_repr}"


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_audited_at = models.DateTimeField(
        null=True, blank=True, help_text="When a use was last written to the audit log (at most hourly)."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PortalSettings(models.Model):
    """Tenant-wide settings an admin edits in the UI (a single row, pk=1)."""

    accepted_domains = models.JSONField(
        default=list,
        blank=True,
        help_text="The tenant's own mail domains. Empty: the domains of the identities seen in the data.",
    )
    four_eyes_action_kinds = models.JSONField(
        default=list, blank=True, help_text="Action kinds that need a second, different approver."
    )
    action_sla_minutes = models.PositiveIntegerField(default=60)
    alert_sla_minutes = models.PositiveIntegerField(default=240)
    event_retention_days = models.PositiveIntegerField(
        default=180,
        help_text="Events older than this are purged; the events an alert, finding or investigation rests on are kept.",
    )
    investigation_lookback_days = models.PositiveIntegerField(
        default=14,
        help_text="How many days of activity before the first alert an investigation reads from the logs.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "portal settings"

    def __str__(self):
        return "Portal settings"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task: proof that queued work gets done."""

    hostname = models.CharField(max_length=200, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.hostname} at {self.last_seen_at:%H:%M:%S}"

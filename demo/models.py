"""The simulated tenant: a Microsoft 365 tenant kept in the database.

The ``simulated`` connector acts on these rows instead of on Microsoft Graph, so the demo
and the tests see remediation change real state. The rows mirror what ingestion saw
(``demo.services.simulated_tenant_sync``): inbox rules, forwarding, delegations, sessions and
delivered mail of each monitored identity. The tables keep the names the investigations app gave
them (``Meta.db_table``): the models moved here in state only, the rows never moved.
"""

from django.db import models
from django.db.models import Q

from alerts.models import Event, Identity


class SimulatedAccount(models.Model):
    """One account (user + mailbox) of the simulated tenant."""

    identity = models.OneToOneField(Identity, on_delete=models.CASCADE, related_name="simulated_account")
    enabled = models.BooleanField(default=True)
    sending_restricted = models.BooleanField(default=False)
    forwarding_address = models.CharField(max_length=320, blank=True)
    deliver_to_mailbox_and_forward = models.BooleanField(default=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    synced_event_id = models.BigIntegerField(default=0, help_text="The last event mirrored into this account.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "investigations_simulatedaccount"  # created by the investigations app, kept
        ordering = ["identity_id"]

    def __str__(self):
        return f"Simulated account of {self.identity_id}"


class SimulatedSession(models.Model):
    """A sign-in session (refresh token) seen from one IP and client; revoking ends it."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="sessions")
    ip = models.GenericIPAddressField(null=True, blank=True)
    app = models.CharField(max_length=256, blank=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "investigations_simulatedsession"  # created by the investigations app, kept
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["account", "revoked_at"], name="simsession_account_idx")]

    def __str__(self):
        return f"Session from {self.ip} ({self.app})"


class SimulatedInboxRule(models.Model):
    """An inbox rule with its conditions and actions as Exchange names them (ForwardTo, MoveToFolder…)."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="inbox_rules")
    name = models.CharField(max_length=256)
    enabled = models.BooleanField(default=True)
    hidden = models.BooleanField(
        default=False, help_text="Left out by Outlook and Get-InboxRule; only -IncludeHidden lists it."
    )
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        db_table = "investigations_simulatedinboxrule"  # created by the investigations app, kept
        ordering = ["account_id", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="siminboxrule_unique_name")]

    def __str__(self):
        return self.name


class SimulatedMailboxPermission(models.Model):
    """A delegate's right on a mailbox (FullAccess, SendAs, SendOnBehalf) or, with ``folder``, on one
    of its folders (Reviewer, Editor… on the Inbox)."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="permissions")
    delegate = models.CharField(max_length=320)
    access_rights = models.CharField(max_length=64)
    folder = models.CharField(max_length=256, blank=True, help_text="Blank: the whole mailbox.")
    granted_at = models.DateTimeField()

    class Meta:
        db_table = "investigations_simulatedmailboxpermission"  # created by the investigations app, kept
        ordering = ["account_id", "delegate", "folder", "access_rights"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "delegate", "folder", "access_rights"], name="simpermission_unique_in_folder"
            )
        ]

    def __str__(self):
        where = f" on {self.folder}" if self.folder else ""
        return f"{self.access_rights} for {self.delegate}{where}"


class SimulatedAppConsent(models.Model):
    """A user's consent to an application: its delegated scopes (an oauth2PermissionGrant)."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="app_consents")
    app_name = models.CharField(max_length=256)
    client_id = models.CharField(max_length=64, blank=True, help_text="The app's service principal id.")
    scopes = models.CharField(max_length=1024, blank=True)
    granted_at = models.DateTimeField()
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["account_id", "app_name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "app_name"], name="simconsent_one_per_app")]

    def __str__(self):
        return f"{self.app_name}: {self.scopes}"


class SimulatedAuthMethod(models.Model):
    """An authentication method registered for the account (the authenticator app, a phone…)."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="auth_methods")
    method_type = models.CharField(max_length=64, help_text="Graph's type, e.g. microsoftAuthenticator, phone.")
    name = models.CharField(max_length=256, blank=True)
    registered_at = models.DateTimeField()
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["account_id", "registered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source_event"], condition=Q(source_event__isnull=False), name="simmethod_once"
            )
        ]

    def __str__(self):
        return f"{self.method_type} {self.name}".strip()


class SimulatedMobileDevice(models.Model):
    """An Exchange ActiveSync partnership of the mailbox (a phone syncing its mail)."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="mobile_devices")
    device_id = models.CharField(max_length=128)
    model = models.CharField(max_length=128, blank=True)
    first_sync_at = models.DateTimeField()
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["account_id", "first_sync_at", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "device_id"], name="simdevice_unique")]

    def __str__(self):
        return f"{self.model or 'device'} {self.device_id}"


class SimulatedMessage(models.Model):
    """A message delivered to a mailbox of the tenant; soft-deleting moves it to Recoverable Items."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=320)
    subject = models.CharField(max_length=512, blank=True)
    internet_message_id = models.CharField(max_length=512, blank=True)
    received_at = models.DateTimeField()
    soft_deleted_at = models.DateTimeField(null=True, blank=True)
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        db_table = "investigations_simulatedmessage"  # created by the investigations app, kept
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source_event"],
                condition=Q(source_event__isnull=False),
                name="simmessage_once_per_event",
            )
        ]
        indexes = [models.Index(fields=["sender", "subject"], name="simmessage_sender_subject_idx")]

    def __str__(self):
        return self.subject


class SimulatedOperation(models.Model):
    """Every call the connector received, keyed by the action's idempotency key.

    ``calls`` counts every call (retries and duplicates included); the change itself is
    applied at most once (``applied_at``). Tests prove exactly-once delivery with these rows.
    """

    idempotency_key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32)
    undo = models.BooleanField(default=False)
    target = models.CharField(max_length=512, blank=True)
    calls = models.PositiveIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "investigations_simulatedoperation"  # created by the investigations app, kept
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind} {self.target} ({self.calls} calls)"


class SimulatedFault(models.Model):
    """Tells the simulated tenant to misbehave, so the real retry and failure paths run.

    The next ``remaining`` calls for ``kind`` (blank: any kind) answer with the fault.
    """

    class Mode(models.TextChoices):
        THROTTLE = "throttle", "429 Too Many Requests (with Retry-After)"
        UNAVAILABLE = "unavailable", "503 Service Unavailable"
        REFUSE = "refuse", "403 Forbidden (permanent)"
        SLOW_BEFORE = "slow_before", "Answer slowly, before acting"
        SLOW_AFTER = "slow_after", "Act, then answer slowly"
        IGNORE = "ignore", "Answer as if done, change nothing (the read-back must catch it)"

    kind = models.CharField(max_length=32, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    remaining = models.PositiveIntegerField(default=1)
    retry_after = models.FloatField(null=True, blank=True, help_text="Seconds, for throttle.")
    delay_seconds = models.FloatField(default=0, help_text="For the slow modes.")
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "investigations_simulatedfault"  # created by the investigations app, kept
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["throttle", "unavailable", "refuse", "slow_before", "slow_after", "ignore"]),
                name="simfault_mode_valid",
            )
        ]

    def __str__(self):
        return f"{self.mode} × {self.remaining} ({self.kind or 'any kind'})"

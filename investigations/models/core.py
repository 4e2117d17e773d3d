from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.models import Alert, Event, Identity


class Investigation(models.Model):
    """The playbook's work on one identity. At most one is open per identity."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PENDING_ACTION = "pending_action", "Pending action"
        REMEDIATED = "remediated", "Remediated"
        PARTIALLY_REMEDIATED = "partially_remediated", "Partially remediated"
        NO_THREATS_FOUND = "no_threats_found", "No threats found"
        FAILED = "failed", "Failed"
        TERMINATED = "terminated", "Terminated"

    class Verdict(models.TextChoices):
        NONE = "", "Not reached"
        COMPROMISED = "compromised", "Compromised"
        SUSPICIOUS = "suspicious", "Suspicious"
        CLEAN = "clean", "Clean"

    class VerdictRule(models.TextChoices):
        """The rules of the verdict model (``investigations.playbooks.verdict``)."""

        NONE = "", "Not reached"
        MICROSOFT_CONFIRMED = "microsoft_confirmed", "Microsoft reports the account compromised"
        ACCESS_AND_INTRUDER_ACTION = (
            "access_and_intruder_action",
            "An anomalous sign-in and an action only an intruder takes",
        )
        STRONG_SIGNAL = "strong_signal", "One strong signal, without proof that someone else is in"
        SEVERAL_SIGNALS = "several_signals", "Weak signals that add up, without proof that someone else is in"
        NO_STRONG_SIGNAL = "no_strong_signal", "No strong signal"

    OPEN_STATUSES = (Status.QUEUED, Status.RUNNING, Status.PENDING_ACTION)

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="investigations")
    playbook = models.CharField(max_length=64, default="compromised_user")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.QUEUED)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, default="")
    risk_score = models.PositiveSmallIntegerField(default=0)
    verdict_rule = models.CharField(
        max_length=40,
        choices=VerdictRule.choices,
        blank=True,
        default="",
        help_text="The rule of the verdict model the verdict met (docs/investigations.md).",
    )
    summary = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="Why it was started by hand, or terminated.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alerts = models.ManyToManyField(Alert, related_name="investigations", blank=True)
    automation_level = models.CharField(
        max_length=8, blank=True, help_text="The automation level the last run applied (from the alerts' policies)."
    )
    run_count = models.PositiveIntegerField(default=0)
    rerun_requested = models.BooleanField(
        default=False, help_text="New evidence arrived while the playbook ran: run it again when it finishes."
    )
    window_start = models.DateTimeField(null=True, blank=True, help_text="The activity window the playbook read.")
    window_end = models.DateTimeField(null=True, blank=True)
    live_state = models.JSONField(
        default=dict,
        blank=True,
        help_text="The account as the last run read it through the connector: what, when, from where.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When the playbook was last queued.")
    run_started_at = models.DateTimeField(null=True, blank=True, help_text="When the current or last run began.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "queued",
                        "running",
                        "pending_action",
                        "remediated",
                        "partially_remediated",
                        "no_threats_found",
                        "failed",
                        "terminated",
                    ]
                ),
                name="investigation_status_valid",
            ),
            models.UniqueConstraint(
                fields=["identity"],
                condition=Q(status__in=["queued", "running", "pending_action"]),
                name="investigation_one_open_per_identity",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="investigation_status_idx"),
            models.Index(fields=["identity", "-created_at"], name="investigation_identity_idx"),
        ]

    def __str__(self):
        return f"Investigation #{self.pk} of {self.identity_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class InvestigationStep(models.Model):
    """One line of the investigation's log: what the playbook or a person did, when."""

    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, default="info")
    message = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.message[:80]


class Finding(models.Model):
    """One playbook check's result, with the events it rests on."""

    class Verdict(models.TextChoices):
        MALICIOUS = "malicious", "Malicious"
        SUSPICIOUS = "suspicious", "Suspicious"
        CLEAN = "clean", "Clean"
        ERROR = "error", "Check failed"

    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="findings")
    check_key = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    explanation = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # No database constraint: events are partitioned (alerts.models.Event); retention keeps linked events.
    events = models.ManyToManyField(Event, related_name="findings", blank=True, db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["investigation", "check_key"], name="finding_one_per_check"),
        ]

    def __str__(self):
        return self.title


class Action(models.Model):
    """A remediation step proposed by the playbook (or a person).

    Status only moves through ``investigations.services.actions`` transitions, each a
    conditional UPDATE, so two approvals or a redelivered task cannot both win.
    """

    class Kind(models.TextChoices):
        REVOKE_SESSIONS = "revoke_sessions", "Revoke sessions"
        RESET_PASSWORD = "reset_password", "Reset password"
        DISABLE_ACCOUNT = "disable_account", "Disable account"
        REMOVE_INBOX_RULE = "remove_inbox_rule", "Remove inbox rule"
        DISABLE_MAILBOX_FORWARDING = "disable_mailbox_forwarding", "Disable mailbox forwarding"
        REMOVE_MAILBOX_PERMISSION = "remove_mailbox_permission", "Remove mailbox permission"
        RESTRICT_SENDING = "restrict_sending", "Restrict sending"
        SOFT_DELETE_MESSAGES = "soft_delete_messages", "Soft-delete messages"
        REVOKE_APP_CONSENT = "revoke_app_consent", "Revoke app consent"
        REMOVE_MFA_METHOD = "remove_mfa_method", "Remove MFA method"
        REMOVE_MOBILE_DEVICE = "remove_mobile_device", "Remove mobile device"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    class Impact(models.TextChoices):
        LOW = "low", "Low"
        HIGH = "high", "High"

    # Decided for good: nothing more will happen to the action by itself.
    TERMINAL_STATUSES = (Status.REJECTED, Status.SUCCEEDED, Status.FAILED, Status.UNDONE)
    # What the `semi` automation level runs without waiting for a person.
    LOW_IMPACT_KINDS = (Kind.REVOKE_SESSIONS, Kind.REMOVE_INBOX_RULE, Kind.DISABLE_MAILBOX_FORWARDING)
    # What a connector can put back as it was (a password reset or a sign-out cannot be taken back).
    REVERSIBLE_KINDS = (
        Kind.DISABLE_ACCOUNT,
        Kind.REMOVE_INBOX_RULE,
        Kind.DISABLE_MAILBOX_FORWARDING,
        Kind.REMOVE_MAILBOX_PERMISSION,
        Kind.RESTRICT_SENDING,
        Kind.SOFT_DELETE_MESSAGES,
        Kind.REVOKE_APP_CONSENT,
    )

    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="actions")
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    target = models.CharField(max_length=512, help_text="What the action acts on (a rule, a delegate, the account).")
    parameters = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, help_text="Which finding it follows from.")
    finding = models.ForeignKey("Finding", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    impact = models.CharField(max_length=8, choices=Impact.choices, default=Impact.LOW)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL)
    requires_second_approval = models.BooleanField(default=False)
    automated = models.BooleanField(default=False, help_text="Approved by the automation level, not a person.")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, help_text="The approver's or the rejecter's comment.")
    second_approval_comment = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    connector = models.CharField(max_length=32, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="The connector's answer.")
    error = models.TextField(blank=True)
    undo_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undone_by")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the task was queued, or when a retry is due."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending_approval", "approved", "rejected", "running", "succeeded", "failed", "undone"]
                ),
                name="action_status_valid",
            ),
            models.UniqueConstraint(
                fields=["investigation", "kind", "target"],
                condition=Q(undo_of__isnull=True),
                name="action_once_per_target",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="action_status_created_idx"),
            models.Index(fields=["identity", "created_at"], name="action_identity_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.target}"

    @property
    def is_undo(self) -> bool:
        return self.undo_of_id is not None

from django.conf import settings
from django.db import models
from django.db.models import Q


class Severity(models.TextChoices):
    INFORMATIONAL = "informational", "Informational"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


SEVERITY_RANK = {Severity.INFORMATIONAL: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class AutomationLevel(models.TextChoices):
    MANUAL = "manual", "Manual: every action waits for approval"
    SEMI = "semi", "Semi: low-impact actions run at once"
    FULL = "full", "Full: every action runs at once"


class Identity(models.Model):
    """A monitored account. ``upn`` is stored lower-cased, so lookups are case-insensitive."""

    upn = models.CharField("UPN", max_length=320, unique=True)
    display_name = models.CharField(max_length=256, blank=True)
    department = models.CharField(max_length=256, blank=True)
    is_vip = models.BooleanField("VIP", default=False)
    external_id = models.CharField(max_length=64, blank=True, help_text="Entra object id, when a source gives it.")
    risk_score = models.PositiveSmallIntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["upn"]
        verbose_name_plural = "identities"

    def __str__(self):
        return self.upn

    @property
    def domain(self) -> str:
        return self.upn.rpartition("@")[2]


class Event(models.Model):
    """One normalised activity record.

    On PostgreSQL the table is range-partitioned by ``occurred_at`` (``alerts.partitions``), and
    PostgreSQL only enforces a unique constraint that contains the partition key; hence the time
    in both keys below. A record's time is part of the record, so re-ingesting it is still a no-op
    (``ON CONFLICT DO NOTHING``); the same sign-in seen by two sources (the audit log and Graph)
    shares ``dedup_key`` but may differ in time by seconds, which ingest checks before inserting
    (``alerts.ingest.writer``). The primary key is ``(id, occurred_at)`` in the database; ids stay
    unique (one sequence), so Django keeps addressing rows by ``id``. Relations *to* events are
    ``db_constraint=False`` for the same reason (a foreign key needs a unique index on ``id``
    alone); retention keeps what they point at (``alerts.retention``).
    """

    class Kind(models.TextChoices):
        SIGNIN = "signin", "Sign-in"
        SIGNIN_FAILED = "signin_failed", "Failed sign-in"
        MAIL_SENT = "mail_sent", "Mail sent"
        MAIL_RECEIVED = "mail_received", "Mail received"
        MAIL_ITEMS_ACCESSED = "mail_items_accessed", "Mail items accessed"
        INBOX_RULE_CREATED = "inbox_rule_created", "Inbox rule created"
        INBOX_RULE_CHANGED = "inbox_rule_changed", "Inbox rule changed"
        INBOX_RULE_REMOVED = "inbox_rule_removed", "Inbox rule removed"
        MAILBOX_FORWARDING_SET = "mailbox_forwarding_set", "Mailbox forwarding set"
        TRANSPORT_RULE_CHANGED = "transport_rule_changed", "Transport rule created or changed"
        MAILBOX_PERMISSION_ADDED = "mailbox_permission_added", "Mailbox permission added"
        SEND_AS_PERMISSION_ADDED = "send_as_permission_added", "Send-as permission added"
        MFA_METHOD_CHANGED = "mfa_method_changed", "MFA method changed"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        OAUTH_CONSENT = "oauth_consent", "OAuth app consent"
        SENDING_RESTRICTED = "sending_restricted", "Restricted from sending"
        EXTERNAL_ALERT = "external_alert", "Alert from another product"
        RISK_DETECTION = "risk_detection", "Risk detection (Entra ID Protection)"
        REMEDIATION = "remediation", "Remediation step"
        OTHER = "other", "Other activity"

    # Null only for a record about no user (a Defender alert on a device or an app): it is kept
    # so that its alert shows in the queue; no baseline, timeline or investigation reads it.
    identity = models.ForeignKey(Identity, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=40, choices=Kind.choices)
    operation = models.CharField(max_length=128, blank=True, help_text="The source's own name for it.")
    source = models.CharField(max_length=32)
    source_record_id = models.CharField(max_length=200)
    dedup_key = models.CharField(max_length=200, null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=128, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    app = models.CharField(max_length=256, blank=True, help_text="Application or client used.")
    user_agent = models.CharField(max_length=512, blank=True)
    succeeded = models.BooleanField(null=True)
    subject = models.CharField(max_length=512, blank=True)
    target = models.CharField(max_length=512, blank=True, help_text="Rule name, recipient, delegate, app…")
    attributes = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_record_id", "occurred_at"], name="event_source_record_unique"
            ),
            models.UniqueConstraint(
                fields=["dedup_key", "occurred_at"], condition=Q(dedup_key__isnull=False), name="event_dedup_key_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["identity", "occurred_at"], name="event_identity_time_idx"),
            models.Index(fields=["identity", "kind", "occurred_at"], name="event_identity_kind_time_idx"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time_idx"),
            models.Index(fields=["ip", "occurred_at"], name="event_ip_time_idx"),
            # Search lists matches newest first: reading this index backwards stops after one
            # page, where sorting every match of a common word would not.
            models.Index(fields=["-occurred_at", "-id"], name="event_time_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.identity_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class AlertPolicy(models.Model):
    """An admin-editable detector configuration. Every change bumps ``version``."""

    detector = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    automation_level = models.CharField(max_length=8, choices=AutomationLevel.choices, default=AutomationLevel.MANUAL)
    parameters = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "alert policies"
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="policy_severity_valid"),
            models.CheckConstraint(
                condition=Q(automation_level__in=AutomationLevel.values), name="policy_automation_valid"
            ),
        ]

    def __str__(self):
        return self.name


class Alert(models.Model):
    """A detector's finding on one identity. Repeats within the window fold into it (``dedup_key``).

    An alert from another product that names no user (a device or an app alert) has no identity:
    it is triaged in the queue like any other but starts no investigation.
    """

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    class Classification(models.TextChoices):
        UNKNOWN = "", "Not classified"
        TRUE_POSITIVE = "true_positive", "True positive"
        BENIGN_POSITIVE = "benign_positive", "Benign positive (expected activity)"
        FALSE_POSITIVE = "false_positive", "False positive"

    policy = models.ForeignKey(AlertPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    detector = models.CharField(max_length=64)
    identity = models.ForeignKey(Identity, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, help_text="Why it fired, in plain words.")
    evidence = models.JSONField(default=dict, blank=True, help_text="Values compared with the thresholds.")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    classification = models.CharField(max_length=20, choices=Classification.choices, blank=True, default="")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alerts"
    )
    dedup_key = models.CharField(max_length=200)
    event_count = models.PositiveIntegerField(default=0)
    first_activity_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    # No database constraint: events are partitioned (see Event); retention keeps linked events.
    events = models.ManyToManyField(Event, related_name="alerts", blank=True, db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True, help_text="First triage.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "in_progress", "resolved", "dismissed"]), name="alert_status_valid"
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="alert_severity_valid"),
            models.UniqueConstraint(fields=["detector", "identity", "dedup_key"], name="alert_fold_unique"),
            # NULLs are distinct in a unique index: the alerts that name no user need their own.
            models.UniqueConstraint(
                fields=["detector", "dedup_key"],
                condition=Q(identity__isnull=True),
                name="alert_fold_unattributed_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="alert_status_created_idx"),
            models.Index(fields=["identity", "-created_at"], name="alert_identity_created_idx"),
            models.Index(fields=["severity", "status"], name="alert_severity_status_idx"),
            models.Index(fields=["detector", "-created_at"], name="alert_detector_created_idx"),
            # The console: alerts per day (dashboard), newest first over any status, and the
            # default queue (open alerts, newest first) read straight off an index.
            models.Index(fields=["-created_at", "-id"], name="alert_created_idx"),
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(status__in=["new", "in_progress"]),
                name="alert_open_created_idx",
            ),
            # Folding: the open alerts of a detector and identity within reach of a finding, read
            # without the identity's closed alerts (which only grow).
            models.Index(
                fields=["detector", "identity", "last_activity_at"],
                condition=Q(status__in=["new", "in_progress"]),
                name="alert_open_fold_idx",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.identity_id or 'no user'})"

    @property
    def subject_names(self) -> list[str]:
        """What an alert about no user is about: the devices, then the apps, the source named."""
        evidence = self.evidence if isinstance(self.evidence, dict) else {}
        return [str(name) for key in ("devices", "apps") for name in evidence.get(key) or ()]

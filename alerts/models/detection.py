"""Models of detection: per-identity baselines, policy versions and suppressions."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.models.core import AlertPolicy, AutomationLevel, Identity, Severity


class IdentityBaseline(models.Model):
    """What is normal for one identity, kept up to date from its events as they are detected.

    Geography is remembered with the *event time* it was first and last seen
    (``{"US": [first_epoch, last_epoch]}``), so a backfill is judged as it happened: a
    country is new for a sign-in when nothing earlier was seen from it. Only successful
    sign-ins teach the baseline (an attacker's failed attempts must not make their country
    familiar). ``daily_recipients`` / ``daily_external_recipients`` hold recipients sent per
    UTC day (``{"2026-01-31": 42}``) over the last ``SENDING_KEEP_DAYS`` days of event time;
    a batch recounts only the days it touched, so re-running detection is idempotent.
    ``recent_signins`` keeps the located successful sign-ins of the two days before the newest
    one, so impossible travel is judged without reading the events table. ``ip_ranges`` also
    remembers the autonomous systems sign-ins came from, keyed ``AS<number>``.
    """

    identity = models.OneToOneField(Identity, on_delete=models.CASCADE, primary_key=True, related_name="baseline")
    first_activity_at = models.DateTimeField(null=True, blank=True, help_text="Earliest event time seen.")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    countries = models.JSONField(default=dict, blank=True)
    ip_ranges = models.JSONField(default=dict, blank=True)
    daily_recipients = models.JSONField(default=dict, blank=True)
    daily_external_recipients = models.JSONField(default=dict, blank=True)
    recent_signins = models.JSONField(
        default=list,
        blank=True,
        help_text="Located successful sign-ins of the last two days: [epoch, lat, lon, ip, event id, city, country].",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Baseline of {self.identity_id}"


class SentRecipient(models.Model):
    """One recipient of one sent message on one UTC day: what the daily sending counts are made of.

    A batch inserts its mail's pairs (a pair seen again is a no-op) and recounts the days it
    touched from these narrow rows in SQL, never from the events. Message keys and addresses
    are stored as 64-bit BLAKE2 digests (``recipient`` is empty for a message no source gave
    recipients for: it counts as one); ``external`` is decided when the pair is first seen.
    Rows older than ``SENDING_KEEP_DAYS`` before the identity's newest activity are pruned.
    """

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    message = models.CharField(max_length=16)
    recipient = models.CharField(max_length=16, blank=True)
    external = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity", "day", "message", "recipient"], name="sentrecipient_unique")
        ]

    def __str__(self) -> str:
        return f"{self.identity_id} {self.day} {self.message}:{self.recipient}"


class AlertPolicyVersion(models.Model):
    """One saved state of a policy: a snapshot plus what changed from the previous version."""

    policy = models.ForeignKey(AlertPolicy, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    enabled = models.BooleanField()
    severity = models.CharField(max_length=16, choices=Severity.choices)
    automation_level = models.CharField(max_length=8, choices=AutomationLevel.choices)
    parameters = models.JSONField(default=dict)
    changes = models.JSONField(default=dict, blank=True, help_text='{"field": {"before": …, "after": …}}')
    comment = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="policy_version_unique")]

    def __str__(self):
        return f"{self.policy_id} v{self.version}"


class AlertSuppression(models.Model):
    """Silences one policy for an identity, an IP range or a sender domain until ``expires_at``.

    A suppression is never deleted: ending it early sets ``ended_at``, so the history of who
    silenced what, and why, stays readable.
    """

    class Kind(models.TextChoices):
        IDENTITY = "identity", "Identity (UPN)"
        IP_RANGE = "ip_range", "IP range (CIDR)"
        SENDER_DOMAIN = "sender_domain", "Sender domain"

    policy = models.ForeignKey(AlertPolicy, on_delete=models.CASCADE, related_name="suppressions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=320)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hit_count = models.PositiveIntegerField(default=0, help_text="Findings silenced so far.")
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["identity", "ip_range", "sender_domain"]), name="suppression_kind_valid"
            )
        ]
        indexes = [models.Index(fields=["policy", "expires_at"], name="suppression_policy_expiry_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value}"


class DetectionBatch(models.Model):
    """The detection ledger: stored events that detection owes a judgement.

    Written in the transaction that stores the events (so no event is stored without its entry)
    and marked ``judged_at`` in the transaction that judges them (so a judgement is recorded
    exactly when its alerts are). An entry still unjudged a minute after it was queued was lost
    (broker down, worker killed): the detection sweep queues it again. The events of one identity
    always travel in the same batch, so an identity's window is judged in one piece; an identity
    always falls in the same ``shard``, and a shard's entries are judged one at a time in ledger
    order, so parallel workers never judge an identity's batches out of order.
    """

    event_ids = models.JSONField(help_text="Ids of the events to judge (ids deleted since are skipped).")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(help_text="When the batch was last sent to a worker.")
    judged_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times the batch was sent.")
    shard = models.PositiveSmallIntegerField(default=0, help_text="identity id modulo DETECTION_SHARDS")

    class Meta:
        indexes = [
            models.Index(fields=["queued_at"], condition=Q(judged_at__isnull=True), name="detectionbatch_unjudged"),
            models.Index(
                fields=["shard", "id"], condition=Q(judged_at__isnull=True), name="detectionbatch_shard_unjudged"
            ),
        ]

    def __str__(self) -> str:
        return f"detection batch {self.pk} ({len(self.event_ids)} events)"

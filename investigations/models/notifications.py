"""Notification rules (who hears about what, how) and their delivery log."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationEvent(models.TextChoices):
    ALERT_HIGH = "alert_high", "New high-severity alert"
    INVESTIGATION_PENDING_ACTION = "investigation_pending_action", "Investigation waits for approval"
    ACTION_PAST_SLA = "action_past_sla", "Action waits longer than the SLA"
    ACTION_FAILED = "action_failed", "Action failed"
    TEST = "test", "Test message"


class NotificationRule(models.Model):
    """Send an e-mail or a webhook when one of ``events`` happens, at most ``daily_cap`` a day.

    ``secret_headers`` (e.g. an Authorization header the receiver expects) and the URL (Slack
    and Teams URLs are secrets themselves) are never rendered back to the browser.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Format(models.TextChoices):
        GENERIC = "generic", "Generic JSON"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.GENERIC)
    url = models.URLField(max_length=1000, blank=True, help_text="Webhook URL (https).")
    recipients = models.JSONField(default=list, blank=True, help_text="E-mail addresses.")
    secret_headers = models.JSONField(default=dict, blank=True)
    allow_private = models.BooleanField(
        default=False, help_text="Allow a webhook on a loopback or private address (an internal receiver)."
    )
    events = models.JSONField(default=list, help_text="NotificationEvent values this rule sends.")
    daily_cap = models.PositiveIntegerField(default=50, help_text="At most this many messages per UTC day.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=["email", "webhook"]), name="notification_channel_valid"),
            models.CheckConstraint(
                condition=Q(format__in=["generic", "slack", "teams"]), name="notification_format_valid"
            ),
        ]

    def __str__(self):
        return self.name


class NotificationDelivery(models.Model):
    """One event sent (or not) through one rule. ``(rule, event_key)`` is unique: each event is sent once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CAPPED = "capped", "Not sent: daily cap reached"

    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    event_key = models.CharField(max_length=100, help_text="The event's identity, e.g. action_failed:42.")
    payload = models.JSONField(default=dict, help_text="The message: title, text, link, details.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a retry is due.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="notification_once_per_event"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "retrying", "sent", "failed", "capped"]),
                name="notification_delivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "created_at"], name="notification_rule_day_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx"),
        ]

    def __str__(self):
        return f"{self.event_key} via {self.rule_id}: {self.status}"

"""Checkpoints of the Microsoft 365 feeds (``alerts.feeds``); the connection itself is ``m365.models``."""

from django.db import models


class M365FeedState(models.Model):
    """Where one stream stands: its checkpoint, what was fetched near it, how the last run went.

    ``stream`` is a feed, or for the audit log a feed plus content type (``audit:Audit.Exchange``).
    ``seen`` maps the ids fetched in the overlap window behind the checkpoint to their timestamp, so
    late or re-listed records are fetched once, whatever order they arrive in. ``resume_link`` is the
    next page of the Graph window a run stopped in (``@odata.nextLink``), which ends at ``resume_until``:
    the next run carries on from there instead of reading the window again from its first page.
    """

    stream = models.CharField(max_length=64, unique=True)
    checkpoint = models.DateTimeField(null=True, blank=True, help_text="Everything before it has been fetched.")
    seen = models.JSONField(default=dict, blank=True)
    resume_link = models.TextField(blank=True, help_text="Next page of the window a run stopped in.")
    resume_until = models.DateTimeField(null=True, blank=True, help_text="End of that window.")
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

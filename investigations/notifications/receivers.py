"""The notifications' receiver of ``alert_raised``: schedules a notice for high-severity alerts."""

from django.dispatch import receiver

from alerts.models import Severity
from alerts.signals import alert_raised
from investigations.models import NotificationEvent
from investigations.notifications.hooks import notify_on_commit


@receiver(alert_raised, dispatch_uid="investigations.notifications.alert_raised")
def on_alert_raised(sender, alert, **kwargs) -> None:
    """A high-severity alert (new, or a repeat that raised it to high) is notified once per rule."""
    if alert.severity == Severity.HIGH:
        notify_on_commit(NotificationEvent.ALERT_HIGH, alert.pk)

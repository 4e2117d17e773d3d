"""The one call the investigation and remediation flows make to announce an event.

It only schedules the dispatch task for after the commit (so a rolled-back transition sends
nothing); a broker failure is logged and does not break the caller (``robust``).
"""

from django.db import transaction

from investigations.models import NotificationEvent


def notify_on_commit(event: NotificationEvent | str, object_id: int, occurrence: str = "") -> None:
    """Announce ``event`` about row ``object_id``; ``occurrence`` tells repeats apart (e.g. a playbook run)."""
    from investigations.notifications.tasks import dispatch_event

    # A named function, not functools.partial: Django logs a failing robust callback by __qualname__.
    def dispatch_notification() -> None:
        dispatch_event.delay(str(event), object_id, occurrence)

    transaction.on_commit(dispatch_notification, robust=True)

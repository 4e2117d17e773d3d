"""The one call the investigation and remediation flows make to announce an event.

It only schedules the dispatch task for after the commit (so a rolled-back transition sends
nothing); a broker failure is logged and does not break the caller (``airportal.dispatch``).
"""

from airportal.dispatch import task_send_on_commit
from investigations.models import NotificationEvent


def notify_on_commit(event: NotificationEvent | str, object_id: int, occurrence: str = "") -> None:
    """Announce ``event`` about row ``object_id``; ``occurrence`` tells repeats apart (e.g. a playbook run)."""
    task_send_on_commit("investigations.notifications.dispatch", str(event), object_id, occurrence)

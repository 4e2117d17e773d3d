"""The investigations app's models: the workflow (core) and notifications."""

from investigations.models.core import Action, Finding, Investigation, InvestigationStep
from investigations.models.notifications import NotificationDelivery, NotificationEvent, NotificationRule

__all__ = [
    "Action",
    "Finding",
    "Investigation",
    "InvestigationStep",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationRule",
]

"""The investigations app's models: the workflow (core) and the simulated tenant."""

from investigations.models.core import Action, Finding, Investigation, InvestigationStep
from investigations.models.notifications import NotificationDelivery, NotificationEvent, NotificationRule
from investigations.models.tenant import (
    SimulatedAccount,
    SimulatedFault,
    SimulatedInboxRule,
    SimulatedMailboxPermission,
    SimulatedMessage,
    SimulatedOperation,
    SimulatedSession,
)

__all__ = [
    "Action",
    "Finding",
    "Investigation",
    "InvestigationStep",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationRule",
    "SimulatedAccount",
    "SimulatedFault",
    "SimulatedInboxRule",
    "SimulatedMailboxPermission",
    "SimulatedMessage",
    "SimulatedOperation",
    "SimulatedSession",
]

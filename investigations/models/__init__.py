"""The investigations app's models: the workflow (core) and the simulated tenant."""

from investigations.models.core import Action, Finding, Investigation, InvestigationStep
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
    "SimulatedAccount",
    "SimulatedFault",
    "SimulatedInboxRule",
    "SimulatedMailboxPermission",
    "SimulatedMessage",
    "SimulatedOperation",
    "SimulatedSession",
]

"""The alerts app's models, one module per sub-domain."""

from alerts.models.core import (
    SEVERITY_RANK,
    Alert,
    AlertPolicy,
    AutomationLevel,
    Event,
    Identity,
    Severity,
)

__all__ = ["SEVERITY_RANK", "Alert", "AlertPolicy", "AutomationLevel", "Event", "Identity", "Severity"]

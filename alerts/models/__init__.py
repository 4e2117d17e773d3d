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
from alerts.models.detection import (
    AlertPolicyVersion,
    AlertSuppression,
    DetectionBatch,
    IdentityBaseline,
    SentRecipient,
)
from alerts.models.feeds import M365FeedState

__all__ = ["SEVERITY_RANK", "Alert", "AlertPolicy", "AutomationLevel", "Event", "Identity", "Severity"]
__all__ += ["M365FeedState"]
__all__ += ["AlertPolicyVersion", "AlertSuppression", "DetectionBatch", "IdentityBaseline", "SentRecipient"]

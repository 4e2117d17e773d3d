"""Every write of the detection side of the alerts app: raising, triage, policies, suppressions."""

from alerts.services.policies import (
    policy_defaults_ensure,
    policy_parameters_clean,
    policy_update,
    suppression_create,
    suppression_expire,
)
from alerts.services.raising import AlertRaise, RaiseResult, alert_raise, alerts_raise
from alerts.services.triage import (
    TRANSITIONS,
    BulkResult,
    alert_assign,
    alert_bulk_assign,
    alert_bulk_set_status,
    alert_set_status,
)

__all__ = [
    "TRANSITIONS",
    "AlertRaise",
    "BulkResult",
    "RaiseResult",
    "alert_assign",
    "alert_bulk_assign",
    "alert_bulk_set_status",
    "alert_raise",
    "alerts_raise",
    "alert_set_status",
    "policy_defaults_ensure",
    "policy_parameters_clean",
    "policy_update",
    "suppression_create",
    "suppression_expire",
]

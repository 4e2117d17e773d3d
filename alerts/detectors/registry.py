"""The nine detectors by key, and a policy's effective parameters."""

import logging
from typing import Any

from django.core.exceptions import ValidationError

from alerts.detectors.base import Detector
from alerts.detectors.external_alert import ExternalAlert
from alerts.detectors.external_forwarding import ExternalForwarding
from alerts.detectors.mailbox_permission_added import MailboxPermissionAdded
from alerts.detectors.mfa_method_changed import MfaMethodChanged
from alerts.detectors.oauth_app_consent import OauthAppConsent
from alerts.detectors.sending_limit_exceeded import SendingLimitExceeded
from alerts.detectors.suspicious_email_sending import SuspiciousEmailSending
from alerts.detectors.suspicious_inbox_rule import SuspiciousInboxRule
from alerts.detectors.suspicious_signin import SuspiciousSignin

logger = logging.getLogger(__name__)

DETECTORS: dict[str, Detector] = {
    detector.key: detector
    for detector in (
        SuspiciousEmailSending(),
        SendingLimitExceeded(),
        ExternalForwarding(),
        SuspiciousInboxRule(),
        SuspiciousSignin(),
        MailboxPermissionAdded(),
        MfaMethodChanged(),
        OauthAppConsent(),
        ExternalAlert(),
    )
}


def detector_get(key: str) -> Detector | None:
    return DETECTORS.get(key)


def effective_parameters(detector: Detector, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored parameters completed with defaults.

    Stored values were validated when saved; a value a newer version of the detector no longer
    accepts falls back to its default (logged) rather than stopping detection.
    """
    known = {param.name: param for param in detector.schema}
    params = detector.schema.defaults()
    for name, value in (stored or {}).items():
        if name not in known:
            continue
        try:
            params[name] = known[name].clean(value)
        except ValidationError:
            logger.warning("policy %s: stored %s=%r is invalid, using the default", detector.key, name, value)
    return params

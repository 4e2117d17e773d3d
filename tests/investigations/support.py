"""Builders for investigation tests: events as the adapters store them, alerts, investigations.

Attribute keys follow ``alerts/adapters/`` (``rule`` with snake_case keys, ``forward_to``,
``recipients``, ``message_id``, ``risk_level``, ``risk_event_types``, ``client_app``,
``authentication_requirement``, ``delegate``/``mailbox``/``actor``, ``scopes``).
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from alerts.models import AlertPolicy, AutomationLevel, Severity
from investigations.services.investigations import investigation_attach_alert
from tests.factories import AlertFactory, AlertPolicyFactory, IdentityFactory
from tests.personas import (  # noqa: F401 - the builders investigation tests import from here
    ATTACKER_IP,
    HOME_IP,
    LAGOS,
    MOSCOW,
    SEATTLE,
    forwarding_event,
    identity,
    mail,
    permission_event,
    rule_event,
    signin,
)

T0 = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)  # the attacker's first sign-in


def home_history(who, *, days: int = 10, end=T0):
    """One sign-in a day from home and a few ordinary mails, for ``days`` days before ``end``."""
    for day in range(days, 0, -1):
        at = end - timedelta(days=day)
        signin(who, at)
        mail(who, at + timedelta(hours=1), ["adele.vance@contoso.com", "partner@fabrikam.com"], "Weekly sync")


def bec_attack(who, *, at=T0, recipients=60):
    """Megan's week: a risky sign-in from Lagos, a hiding rule, external forwarding, a phishing wave."""
    home_history(who, end=at)
    signin(who, at, LAGOS, ip=ATTACKER_IP, risk_level="high", risk_event_types=["anonymizedIPAddress"])
    rule_event(
        who,
        at + timedelta(minutes=20),
        {
            "name": "..",
            "subject_or_body_contains_words": ["invoice", "payment"],
            "move_to_folder": "RSS Feeds",
            "mark_as_read": True,
        },
    )
    forwarding_event(who, at + timedelta(minutes=24), ["megan.finance@gmail.com"])
    colleagues = [f"colleague{i}@contoso.com" for i in range(5)]
    for upn in colleagues:
        IdentityFactory(upn=upn)
    wave = colleagues + [f"ap{i}@fabrikam.com" for i in range(recipients)]
    for start in range(0, len(wave), 20):
        mail(who, at + timedelta(minutes=40), wave[start : start + 20], "Updated remittance details")


def policy(detector="suspicious_signin", level=AutomationLevel.MANUAL) -> AlertPolicy:
    found = AlertPolicyFactory(detector=detector)
    AlertPolicy.objects.filter(pk=found.pk).update(automation_level=level)
    found.refresh_from_db()
    return found


def alert(who, *, at=T0, detector="suspicious_signin", level=AutomationLevel.MANUAL, severity=Severity.HIGH):
    return AlertFactory(
        identity=who,
        detector=detector,
        policy=policy(detector, level),
        severity=severity,
        first_activity_at=at,
        last_activity_at=at + timedelta(hours=1),
    )


def investigate(who, capture, **alert_kwargs):
    """Raise an alert on ``who`` and let it open and run its investigation (tasks run eagerly)."""
    raised = alert(who, **alert_kwargs)
    with capture(execute=True):
        investigation = investigation_attach_alert(alert_id=raised.pk)
    investigation.refresh_from_db()
    return investigation


def now():
    return timezone.now()

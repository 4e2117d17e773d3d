"""Builders for investigation tests: events as the adapters store them, alerts, investigations.

Attribute keys follow ``alerts/adapters/`` (``rule`` with snake_case keys, ``forward_to``,
``recipients``, ``message_id``, ``risk_level``, ``risk_event_types``, ``client_app``,
``authentication_requirement``, ``delegate``/``mailbox``/``actor``, ``scopes``).
"""

import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from alerts.models import AlertPolicy, AutomationLevel, Event, Severity
from investigations.services.investigations import investigation_attach_alert
from tests.factories import AlertFactory, AlertPolicyFactory, EventFactory, IdentityFactory

T0 = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)  # the attacker's first sign-in
SEATTLE = {"city": "Seattle", "country": "US", "latitude": 47.61, "longitude": -122.33}
LAGOS = {"city": "Lagos", "country": "NG", "latitude": 6.52, "longitude": 3.38}
MOSCOW = {"city": "Moscow", "country": "RU", "latitude": 55.76, "longitude": 37.62}
HOME_IP = "20.190.151.10"
ATTACKER_IP = "102.89.32.18"


def identity(name: str = "megan.bowen", domain: str = "contoso.com"):
    return IdentityFactory(upn=f"{name}@{domain}")


def signin(who, at, place=SEATTLE, *, ip=HOME_IP, succeeded=True, **attributes):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.SIGNIN if succeeded else Event.Kind.SIGNIN_FAILED,
        source="entra-signins",
        ip=ip,
        succeeded=succeeded,
        attributes={
            "client_app": "Browser",
            "risk_level": "none",
            "authentication_requirement": "multiFactorAuthentication",
            **({} if succeeded else {"error_code": 50126}),  # a wrong password
            **attributes,
        },
        **place,
    )


def home_history(who, *, days: int = 10, end=T0):
    """One sign-in a day from home and a few ordinary mails, for ``days`` days before ``end``."""
    for day in range(days, 0, -1):
        at = end - timedelta(days=day)
        signin(who, at)
        mail(who, at + timedelta(hours=1), ["adele.vance@contoso.com", "partner@fabrikam.com"], "Weekly sync")


def mail(who, at, recipients, subject="Weekly sync", *, message_id=None):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAIL_SENT,
        source="message-trace",
        ip=None,
        country="",
        subject=subject,
        target=recipients[0] if recipients else "",
        attributes={"recipients": list(recipients), "message_id": message_id or f"<{uuid.uuid4()}@contoso.com>"},
    )


def rule_event(who, at, rule, *, kind=Event.Kind.INBOX_RULE_CREATED):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=kind,
        source="o365-audit",
        operation="New-InboxRule",
        target=rule.get("name", ""),
        ip=None,
        attributes={"rule": rule, "mailbox": who.upn, "actor": who.upn},
    )


def forwarding_event(who, at, forward_to):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_FORWARDING_SET,
        source="o365-audit",
        operation="Set-Mailbox",
        target=who.upn,
        ip=None,
        attributes={"forward_to": forward_to, "mailbox": who.upn, "actor": who.upn},
    )


def permission_event(owner, at, *, delegate, actor, rights=("FullAccess",)):
    return EventFactory(
        identity=owner,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_PERMISSION_ADDED,
        source="o365-audit",
        operation="Add-MailboxPermission",
        target=owner.upn,
        ip=None,
        attributes={"delegate": delegate, "access_rights": list(rights), "mailbox": owner.upn, "actor": actor},
    )


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

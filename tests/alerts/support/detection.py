"""Builders for detector tests: events as the adapters store them, and a way to run detection.

Attribute keys follow the adapters (``alerts/adapters/``): ``rule`` with snake_case keys,
``forward_to``, ``recipients``, ``message_id``, ``risk_level``, ``client_app``, ``scopes``…
"""

import uuid
from datetime import UTC, datetime, timedelta

from alerts.detection import detect_events
from alerts.models import Alert, Event
from tests.factories import EventFactory, IdentityFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
SEATTLE = {"city": "Seattle", "country": "US", "latitude": 47.61, "longitude": -122.33}
NEW_YORK = {"city": "New York", "country": "US", "latitude": 40.71, "longitude": -74.01}
LONDON = {"city": "London", "country": "GB", "latitude": 51.51, "longitude": -0.13}
MOSCOW = {"city": "Moscow", "country": "RU", "latitude": 55.76, "longitude": 37.62}
LAGOS = {"city": "Lagos", "country": "NG", "latitude": 6.52, "longitude": 3.38}


def identity(name: str = "megan.bowen", domain: str = "contoso.com"):
    return IdentityFactory(upn=f"{name}@{domain}")


def detect(events) -> list[Alert]:
    """Run detection over ``events`` (one batch) and return every alert, oldest first."""
    detect_events(event_ids=[event.pk for event in events])
    return list(Alert.objects.order_by("id"))


def alerts_of(detector: str) -> list[Alert]:
    return list(Alert.objects.filter(detector=detector).order_by("id"))


def signin(who, at, place=SEATTLE, *, ip="20.190.151.10", succeeded=True, **attributes):
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
            "risk_state": "none",
            **({} if succeeded else {"error_code": 50126}),  # a wrong password, as a spray produces
            **attributes,
        },
        **place,
    )


def signin_history(who, *, days: int = 10, place=SEATTLE, ip="20.190.151.10", end=T0):
    """One sign-in a day at home for ``days`` days before ``end``, already judged by detection."""
    events = [signin(who, end - timedelta(days=day), place, ip=ip) for day in range(days, 0, -1)]
    detect(events)
    return events


def mail(who, at, recipients, subject="Weekly sync", *, message_id=None, source="message-trace", **attributes):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAIL_SENT,
        source=source,
        ip=None,
        country="",
        subject=subject,
        target=recipients[0] if recipients else "",
        attributes={
            "recipients": list(recipients),
            "message_id": message_id or f"<{uuid.uuid4()}@contoso.com>",
            "sender": who.upn,
            **attributes,
        },
    )


def rule_event(who, at, rule, *, kind=Event.Kind.INBOX_RULE_CREATED, actor=None):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=kind,
        source="o365-audit",
        operation="New-InboxRule",
        target=rule.get("name", ""),
        attributes={"rule": rule, "mailbox": who.upn, "actor": actor or who.upn},
    )


def forwarding_event(who, at, forward_to, *, actor=None):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_FORWARDING_SET,
        source="o365-audit",
        operation="Set-Mailbox",
        target=who.upn,
        attributes={"forward_to": forward_to, "mailbox": who.upn, "actor": actor or who.upn},
    )

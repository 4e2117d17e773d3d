"""Builders for detector tests: events as the adapters store them, and a way to run detection.

Attribute keys follow the adapters (``alerts/adapters/``): ``rule`` with snake_case keys,
``forward_to``, ``recipients``, ``message_id``, ``risk_level``, ``client_app``, ``scopes``…
"""

from datetime import UTC, datetime, timedelta

from alerts.detection import detect_events
from alerts.models import Alert
from tests.personas import (  # noqa: F401 - the builders detector tests import from here
    HOME_IP,
    LAGOS,
    LONDON,
    MOSCOW,
    NEW_YORK,
    SEATTLE,
    forwarding_event,
    identity,
    mail,
    rule_event,
    signin,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def detect(events) -> list[Alert]:
    """Run detection over ``events`` (one batch) and return every alert, oldest first."""
    detect_events(event_ids=[event.pk for event in events])
    return list(Alert.objects.order_by("id"))


def alerts_of(detector: str) -> list[Alert]:
    return list(Alert.objects.filter(detector=detector).order_by("id"))


def signin_history(who, *, days: int = 10, place=SEATTLE, ip=HOME_IP, end=T0):
    """One sign-in a day at home for ``days`` days before ``end``, already judged by detection."""
    events = [signin(who, end - timedelta(days=day), place, ip=ip) for day in range(days, 0, -1)]
    detect(events)
    return events

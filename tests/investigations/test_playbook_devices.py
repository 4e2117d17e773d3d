"""The devices check: phones and devices added after a risky sign-in, and the partnerships to remove."""

from datetime import timedelta

import pytest

from investigations.models import Action, Finding
from tests.factories import EventFactory
from tests.investigations.support import LAGOS, T0, home_history, identity, investigate, signin

pytestmark = pytest.mark.django_db


def device_event(who, at, operation, **attributes):
    return EventFactory(identity=who, kind="other", occurred_at=at, operation=operation, target="ABC123",
                        attributes=attributes)  # fmt: skip


def test_a_partnership_added_after_a_risky_sign_in_is_suspicious_and_proposed_for_removal(
    django_capture_on_commit_callbacks,
):
    megan = identity()
    home_history(megan)
    signin(megan, T0, LAGOS, ip="102.89.32.18", risk_level="high", risk_event_types=["anonymizedIPAddress"])
    device_event(megan, T0 + timedelta(minutes=20), "Add-MobileDevice", device_model="SM-A515F")
    device_event(megan, T0 + timedelta(minutes=30), "Register device")

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    finding = investigation.findings.get(check_key="devices")
    assert finding.verdict == Finding.Verdict.SUSPICIOUS
    assert [d["operation"] for d in finding.data["devices"]] == ["Add-MobileDevice", "Register device"]
    [action] = investigation.actions.filter(kind=Action.Kind.REMOVE_MOBILE_DEVICE)
    assert action.parameters["first_synced_after"] == "2026-03-11T22:10:00Z"
    assert action.parameters["mailbox"] == megan.upn


def test_a_phone_set_up_without_a_risky_sign_in_is_ordinary(django_capture_on_commit_callbacks):
    megan = identity()
    home_history(megan)
    signin(megan, T0, LAGOS, ip="102.89.32.18", risk_level="high", risk_event_types=["anonymizedIPAddress"])
    device_event(megan, T0 - timedelta(days=2), "Add-MobileDevice")

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert investigation.findings.get(check_key="devices").verdict == Finding.Verdict.CLEAN
    assert not investigation.actions.filter(kind=Action.Kind.REMOVE_MOBILE_DEVICE).exists()

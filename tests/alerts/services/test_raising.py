"""Raising services: folding, redelivery, concurrency, and suppressions applied to what is raised."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from airportal.errors import Conflict, DomainError
from airportal.models import AuditEntry
from alerts.detectors.base import Detection
from alerts.models import Alert, AlertPolicy, AlertSuppression
from alerts.services import (
    alert_raise,
    alert_set_status,
    suppression_create,
    suppression_expire,
)
from alerts.signals import alert_raised
from tests.alerts.support.detection import LAGOS, SEATTLE, T0, alerts_of, detect, identity, rule_event, signin

pytestmark = pytest.mark.django_db

HIDING_RULE = {"name": ".", "move_to_folder": "RSS Feeds", "subject_contains_words": ["invoice"]}


def _rule(who, at, name="."):
    return rule_event(who, at, {**HIDING_RULE, "name": name})


# --- folding ---------------------------------------------------------------------------------------


def test_repeats_within_the_window_fold_into_one_alert():
    megan = identity()
    detect([_rule(megan, T0, "a")])
    detect([_rule(megan, T0 + timedelta(hours=5), "b")])
    detect([_rule(megan, T0 + timedelta(hours=20), "c")])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert alert.event_count == 3 == alert.events.count()
    assert (alert.first_activity_at, alert.last_activity_at) == (T0, T0 + timedelta(hours=20))
    assert set(alert.evidence["reasons"]) == {"rule:a", "rule:b", "rule:c"}
    assert alert.description.count("Inbox rule") == 3


def test_activity_after_the_window_raises_a_new_alert():
    megan = identity()
    detect([_rule(megan, T0)])
    detect([_rule(megan, T0 + timedelta(hours=25), "later")])
    assert len(alerts_of("suspicious_inbox_rule")) == 2


def test_other_identities_and_detectors_do_not_fold_together():
    megan, lee = identity(), identity("lee.gu")
    detect([_rule(megan, T0), _rule(lee, T0)])
    detect([signin(megan, T0, SEATTLE, risk_level="high")])
    assert sorted((a.identity.upn, a.detector) for a in Alert.objects.all()) == [
        ("lee.gu@contoso.com", "suspicious_inbox_rule"),
        ("megan.bowen@contoso.com", "suspicious_inbox_rule"),
        ("megan.bowen@contoso.com", "suspicious_signin"),
    ]


def test_a_closed_alert_is_not_reopened_by_new_activity(analyst):
    megan = identity()
    detect([_rule(megan, T0)])
    [first] = alerts_of("suspicious_inbox_rule")
    alert_set_status(alert=first, status="dismissed", classification="benign_positive", actor=analyst)
    detect([_rule(megan, T0 + timedelta(hours=1), "again")])
    first.refresh_from_db()
    assert first.status == "dismissed" and first.event_count == 1
    second = alerts_of("suspicious_inbox_rule")[1]
    assert second.status == "new" and second.dedup_key == f"{first.dedup_key}#2"


def test_redelivered_batch_adds_nothing_and_stays_silent():
    megan = identity()
    events = [_rule(megan, T0)]
    detect(events)
    received = []

    def receiver(sender, alert, created, **kwargs):
        received.append((alert.pk, created))

    alert_raised.connect(receiver)
    try:
        detect(events)
    finally:
        alert_raised.disconnect(receiver)
    [alert] = alerts_of("suspicious_inbox_rule")
    assert alert.event_count == 1 and received == []


def test_alert_raised_is_sent_on_create_and_on_fold():
    megan = identity()
    received = []

    def receiver(sender, alert, created, **kwargs):
        received.append((alert.detector, created))

    alert_raised.connect(receiver)
    try:
        detect([_rule(megan, T0)])
        detect([_rule(megan, T0 + timedelta(hours=1), "b")])
    finally:
        alert_raised.disconnect(receiver)
    assert received == [("suspicious_inbox_rule", True), ("suspicious_inbox_rule", False)]


def test_severity_and_policy_version_come_from_the_policy():
    megan = identity()
    policy = AlertPolicy.objects.get(detector="suspicious_inbox_rule")
    from alerts.services import policy_update

    policy_update(policy=policy, actor=None, severity="low", automation_level="full")
    detect([_rule(megan, T0)])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert (alert.severity, alert.policy, alert.policy_version) == ("low", policy, 2)


def _finding(who, event):
    return Detection(identity_id=who.pk, title="Concurrent", reasons={"x": "Concurrent finding."}, events=[event])


@pytest.mark.postgres
def test_concurrent_workers_raising_the_same_finding_create_one_alert(require_postgres, transactional_db):
    megan = identity()
    events = [_rule(megan, T0 + timedelta(minutes=n), f"r{n}") for n in range(2)]
    policy = AlertPolicy.objects.get(detector="suspicious_inbox_rule")
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def worker(event):
        try:
            barrier.wait()
            result = alert_raise(
                policy=policy, identity=megan, finding=_finding(megan, event), fold_window=timedelta(hours=24)
            )
            outcomes.append(result.created)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(outcomes) == [False, True]
    [alert] = Alert.objects.all()
    assert alert.event_count == 2 == alert.events.count()


# --- suppressions ---------------------------------------------------------------------------------


def _suppress(kind, value, *, days=7, detector="suspicious_signin", actor=None):
    policy = AlertPolicy.objects.get(detector=detector)
    return suppression_create(
        policy=policy,
        kind=kind,
        value=value,
        reason="Known VPN exit",
        expires_at=timezone.now() + timedelta(days=days),
        actor=actor,
    )


def test_suppressed_ip_range_raises_nothing_and_counts_the_hit(admin_user):
    megan = identity()
    suppression = _suppress("ip_range", "102.89.32.0/24", actor=admin_user)
    detect([signin(megan, T0, LAGOS, ip="102.89.32.18", risk_level="high")])
    assert alerts_of("suspicious_signin") == []
    suppression.refresh_from_db()
    assert suppression.hit_count == 1 and suppression.last_hit_at is not None
    assert AuditEntry.objects.filter(verb="suppression.created", actor=admin_user).exists()


def test_suppression_of_one_identity_leaves_the_others_alone():
    megan, lee = identity(), identity("lee.gu")
    _suppress("identity", "Megan.Bowen@contoso.com")
    detect([signin(megan, T0, risk_level="high"), signin(lee, T0, risk_level="high")])
    assert [a.identity for a in alerts_of("suspicious_signin")] == [lee]


def test_sender_domain_suppression_covers_its_subdomains():
    news = identity("news", domain="mail.contoso.com")
    _suppress("sender_domain", "contoso.com", detector="suspicious_inbox_rule")
    detect([_rule(news, T0)])
    assert alerts_of("suspicious_inbox_rule") == []


def test_expired_suppression_no_longer_applies(admin_user):
    megan = identity()
    suppression = _suppress("identity", megan.upn)
    detect([signin(megan, T0, risk_level="high")])
    assert alerts_of("suspicious_signin") == []
    AlertSuppression.objects.filter(pk=suppression.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    detect([signin(megan, T0 + timedelta(minutes=5), risk_level="high")])
    assert len(alerts_of("suspicious_signin")) == 1


def test_ending_a_suppression_early_is_audited_and_cannot_be_repeated(admin_user):
    megan = identity()
    suppression = _suppress("identity", megan.upn)
    suppression_expire(suppression=suppression, actor=admin_user)
    assert AuditEntry.objects.filter(verb="suppression.ended", actor=admin_user).count() == 1
    with pytest.raises(Conflict):
        suppression_expire(suppression=suppression, actor=admin_user)
    detect([signin(megan, T0, risk_level="high")])
    assert len(alerts_of("suspicious_signin")) == 1


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("ip_range", "10.0.0.0/33", "not an IP address or range"),
        ("identity", "megan", "needs a UPN"),
        ("sender_domain", "not a domain!", "not a domain name"),
        ("country", "RU", "kind must be one of"),
    ],
)
def test_bad_suppressions_are_refused_with_a_clear_message(kind, value, message):
    with pytest.raises(DomainError, match=message):
        _suppress(kind, value)
    assert not AlertSuppression.objects.exists()


def test_suppression_needs_a_reason_and_a_future_expiry():
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    with pytest.raises(DomainError, match="needs a reason"):
        suppression_create(
            policy=policy, kind="identity", value="a@b.com", reason=" ", expires_at=timezone.now(), actor=None
        )
    with pytest.raises(DomainError, match="in the future"):
        suppression_create(
            policy=policy, kind="identity", value="a@b.com", reason="r", expires_at=timezone.now(), actor=None
        )

"""Raising a batch of findings at once (``alerts_raise``) gives the alerts that raising them one
after another gives, in a number of statements that does not grow with the findings."""

import json
import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alerts.detectors.base import Detection
from alerts.detectors.registry import DETECTORS
from alerts.models import Alert, AlertPolicy
from alerts.services import AlertRaise, alert_raise, alert_set_status, alerts_raise
from alerts.signals import alert_raised
from tests.alerts.support.detection import T0, identity, rule_event
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

WINDOW = timedelta(hours=24)
RULE = {"name": ".", "move_to_folder": "RSS Feeds"}
SEVERITIES = ["low", "medium", "high", None]


def _policies() -> dict[str, AlertPolicy]:
    return {p.detector: p for p in AlertPolicy.objects.filter(detector__in=["suspicious_inbox_rule", "external_alert"])}


def _item(policy, who, events, *, codes, severity=None, fold_key=None, evidence=None) -> AlertRaise:
    finding = Detection(
        identity_id=who.pk,
        title=f"{policy.detector} {'/'.join(codes)}",
        reasons={code: f"Reason {code} at {min(e.occurred_at for e in events):%H:%M}." for code in codes},
        events=events,
        evidence=evidence or {"seen": [code for code in codes], "latest": codes[-1]},
        fold_key=fold_key,
        severity=severity,
    )
    retitle = DETECTORS[policy.detector].title_for if policy.detector == "suspicious_signin" else None
    return AlertRaise(policy, who, finding, WINDOW, retitle or (lambda reasons: f"{len(reasons)} reasons"))


def _rule_item(who, hours: int, code: str) -> AlertRaise:
    event = rule_event(who, T0 + timedelta(hours=hours), RULE)
    return _item(_policies()["suspicious_inbox_rule"], who, [event], codes=[code])


def _arguments(item: AlertRaise) -> dict:
    """``alert_raise``'s arguments for ``item``."""
    return {
        "policy": item.policy,
        "identity": item.identity,
        "finding": item.finding,
        "fold_window": item.fold_window,
        "retitle": item.retitle,
    }


def _mixed_findings(seed: int = 5) -> list[AlertRaise]:
    """Findings of six people over three days, in arrival order: repeats within the window,
    activity past it, events judged again, severities going up and down, more reasons than an
    alert keeps, and external alerts folding by the source's id (some longer than a key holds)."""
    rng = random.Random(seed)
    policies = _policies()
    people = [identity(f"user{n}") for n in range(6)]
    pool = {who.pk: [rule_event(who, T0 + timedelta(hours=h), RULE) for h in range(0, 72, 3)] for who in people}
    items = []
    for _ in range(120):
        who = rng.choice(people)
        start = rng.randrange(len(pool[who.pk]) - 2)
        events = pool[who.pk][start : start + rng.randint(1, 3)]
        if rng.random() < 0.2:
            number = rng.randint(1, 4)
            key = f"graph-alert-{number}-" + "x" * (200 if number % 2 else 0)
            items.append(_item(policies["external_alert"], who, events, codes=[f"graph{number}"], fold_key=key))
            continue
        codes = [f"r{rng.randint(1, 70)}" for _ in range(rng.randint(1, 12))]
        items.append(
            _item(policies["suspicious_inbox_rule"], who, events, codes=codes, severity=rng.choice(SEVERITIES))
        )
    return items


def _existing_alerts(items: list[AlertRaise], analyst) -> list[AlertRaise]:
    """Raise the first findings before the batch and dismiss some of their alerts (the batch must
    use their next key), among them external alerts the source updates again; returns the batch,
    with findings whose alerts the batch reaches only through their key or through a later finding."""

    def raise_(item):
        return alert_raise(**_arguments(item)).alert

    def dismiss(alert):
        alert_set_status(alert=alert, status="dismissed", classification="benign_positive", actor=analyst)

    for item in items[:12]:
        raise_(item)
    rules = Alert.objects.filter(detector="suspicious_inbox_rule").order_by("id")
    for alert in [*Alert.objects.filter(detector="external_alert"), *rules[::2]]:
        dismiss(alert)
    keyed, reach, between = identity("keyed"), identity("reach"), identity("between")
    dismiss(raise_(_rule_item(keyed, 0, "k0")))
    dismiss(raise_(_rule_item(keyed, 1, "k1")))  # the bucket's "#2"
    raise_(_rule_item(reach, 23, "early"))  # open, under the next day's key
    return [
        *items[12:],
        _rule_item(keyed, 2, "k2"),  # "#3"
        _rule_item(reach, 70, "late"),  # a new alert; then one that reaches back to the open one
        _rule_item(reach, 10, "back"),
        *(_rule_item(between, hours, f"at{hours}") for hours in (0, 40, 20)),  # two alerts in reach: the later
    ]


def _snapshot() -> list[tuple]:
    return sorted(
        (
            alert.detector,
            alert.identity.upn,
            alert.dedup_key,
            alert.status,
            alert.title,
            # one line per reason; their order is the reasons' key order, which PostgreSQL's jsonb
            # does not keep between one fold and the next (a batch folds in memory, in finding order)
            tuple(sorted(alert.description.splitlines())),
            json.dumps(alert.evidence, sort_keys=True),
            alert.severity,
            alert.event_count,
            alert.first_activity_at,
            alert.last_activity_at,
            tuple(sorted(alert.events.values_list("pk", flat=True))),
        )
        for alert in Alert.objects.select_related("identity")
    )


def _outcome(run) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(per finding: its alert's key, created, new events; the alerts; the alert_raised signals),
    then everything ``run`` wrote is rolled back."""
    signals = []

    def receiver(sender, alert, created, **kwargs):
        signals.append((alert.detector, alert.identity_id, alert.dedup_key, created))

    alert_raised.connect(receiver)
    try:
        with transaction.atomic():
            results = run()
            per_finding = [(r.alert.dedup_key, r.alert.identity_id, r.created, r.new_events) for r in results]
            alerts = _snapshot()
            transaction.set_rollback(True)
    finally:
        alert_raised.disconnect(receiver)
    return per_finding, alerts, signals


def test_a_batch_gives_the_alerts_raising_each_finding_in_turn_gives(analyst):
    batch = _existing_alerts(_mixed_findings(), analyst)

    def one_by_one():
        return [alert_raise(**_arguments(item)) for item in batch]

    in_turn, alerts_in_turn, signals_in_turn = _outcome(one_by_one)
    captured = CaptureQueriesContext(connection)

    def at_once_run():
        with captured:
            return alerts_raise(raises=batch)

    at_once, alerts_at_once, signals_at_once = _outcome(at_once_run)
    # in one go (with the successors of keys dismissed alerts hold), not finding by finding after a lost insert
    assert len(captured) == 10

    assert at_once == in_turn
    assert alerts_at_once == alerts_in_turn
    # the scenario is not trivial: folds, new alerts, next keys past dismissed ones, repeats with nothing new
    created = [row for row in at_once if row[2]]
    assert len(created) >= 10 and len(at_once) - len(created) >= 50
    assert any("#2" in row[0] for row in created) and any(row[0].endswith("#3") for row in created)
    assert any(not row[2] and row[3] == 0 for row in at_once)
    dismissed = {alert[:3] for alert in alerts_at_once if alert[3] == "dismissed"}
    assert any(s[0] == "external_alert" and (s[0], s[2]) in {(d[0], d[2]) for d in dismissed} for s in signals_at_once)
    # one signal per alert that news arrived in, in the order it did; one by one, one per finding
    assert len(signals_at_once) == len(set(signals_at_once))
    assert set(signals_at_once) <= set(signals_in_turn)
    assert {s[:3] for s in signals_at_once} == {s[:3] for s in signals_in_turn}
    assert [s for s in signals_at_once if s[3]] == [s for s in dict.fromkeys(signals_in_turn) if s[3]]


def test_a_batch_judged_again_adds_nothing_and_stays_silent():
    # in time order, as a detector finds them (out of order, a finding judged again may fold
    # into an alert opened after it the first time, one by one as well)
    items = sorted(_mixed_findings(seed=8), key=lambda item: item.finding.first_at)
    alerts_raise(raises=items)
    before = _snapshot()
    per_finding, after, signals = _outcome(lambda: alerts_raise(raises=items))
    assert after == before and signals == []
    assert all(not created and new == 0 for _, _, created, new in per_finding)


def _findings_of(people: int) -> list[AlertRaise]:
    policy = _policies()["suspicious_inbox_rule"]
    items = []
    for n in range(people):
        who = identity(f"p{people}-{n}")
        events = [rule_event(who, T0 + timedelta(hours=h), RULE) for h in (0, 1, 30)]
        items += [_item(policy, who, [event], codes=[f"r{h}"]) for h, event in enumerate(events)]
    return items


def test_the_statements_of_a_batch_do_not_grow_with_its_findings():
    queries = []
    for people in (2, 40):
        items = _findings_of(people)
        alerts_raise(raises=items[: len(items) // 2])  # half of them find alerts to fold into
        with CaptureQueriesContext(connection) as captured:
            results = alerts_raise(raises=items)
        assert sum(r.new_events for r in results) == len(items) - len(items) // 2
        queries.append(len(captured))
    # savepoints, the locked alerts, the links they hold, the insert, the links, the update
    assert queries == [8, 8]


def _race(items: list[AlertRaise]) -> list[list[tuple[bool, int]]]:
    """Two threads raise ``items`` at the same moment; each one's (created, new events) per finding."""
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def worker():
        try:
            barrier.wait()
            outcomes.append([(r.created, r.new_events) for r in alerts_raise(raises=items)])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(outcomes) == 2
    return outcomes


@pytest.mark.postgres
def test_concurrent_batches_of_the_same_findings_create_each_alert_once(require_postgres, transactional_db):
    items = _findings_of(5)
    outcomes = _race(items)
    assert sorted(sum(created for created, _ in outcome) for outcome in outcomes) == [0, 10]  # 2 alerts a person
    assert sum(new for outcome in outcomes for _, new in outcome) == len(items)  # each event linked once
    alerts = Alert.objects.all()
    assert len(alerts) == 10
    assert all(alert.event_count == alert.events.count() for alert in alerts)


def test_a_later_finding_of_the_batch_reaching_further_back_folds_into_the_alert_there():
    who = identity("reach")
    alert_raise(**_arguments(_rule_item(who, 23, "early")))  # open, under the next day's key
    late, back = _rule_item(who, 70, "late"), _rule_item(who, 10, "back")
    results = alerts_raise(raises=[late, back])
    assert [(r.created, r.new_events) for r in results] == [(True, 1), (False, 1)]
    assert sorted(Alert.objects.values_list("event_count", flat=True)) == [1, 2]


def _unattributed_items(count: int) -> list[AlertRaise]:
    """Findings of ``external_alert`` on alerts about no user (device alerts), one per source alert."""
    policy = _policies()["external_alert"]
    items = []
    for n in range(count):
        event = EventFactory(identity=None, kind="external_alert", occurred_at=T0 + timedelta(minutes=n))
        finding = Detection(
            identity_id=None,
            title=f"Device alert {n}",
            reasons={f"external:da-{n}": "Defender raised it."},
            events=[event],
            evidence={"devices": [f"laptop-{n}"]},
            fold_key=f"external:da-{n}",
        )
        items.append(AlertRaise(policy, None, finding, WINDOW))
    return items


def test_alerts_about_no_user_fold_by_their_source_id_in_a_batch_and_one_by_one():
    items = _unattributed_items(3)
    assert [r.created for r in alerts_raise(raises=items + items[:1])] == [True, True, True, False]
    assert not alert_raise(**_arguments(items[1])).created
    assert sorted(Alert.objects.values_list("identity", "dedup_key")) == [
        (None, "external:da-0"),
        (None, "external:da-1"),
        (None, "external:da-2"),
    ]


@pytest.mark.postgres
def test_concurrent_batches_of_alerts_about_no_user_create_each_once(require_postgres, transactional_db):
    outcomes = _race(_unattributed_items(5))
    # NULLs are distinct in alert_fold_unique: the partial key on alerts about no user arbitrates
    assert sorted(sum(created for created, _ in outcome) for outcome in outcomes) == [0, 5]
    assert Alert.objects.filter(identity__isnull=True).count() == 5

"""Per-identity baselines: incremental, idempotent, on event time; and the accepted domains."""

import random
from collections import defaultdict
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from airportal.services import portal_settings_update
from alerts.activity.addresses import address_domain, domain_is_internal, ip_range
from alerts.activity.mail import messages_of
from alerts.baselines import LAST_ACTIVITY_STEP, LAST_SEEN_STEP, known_before, sending_baseline
from alerts.domains import accepted_domains
from alerts.models import Event, IdentityBaseline, SentRecipient
from tests.alerts.support.detection import LAGOS, LONDON, SEATTLE, T0, detect, identity, mail, signin

pytestmark = pytest.mark.django_db


def _baseline(who) -> IdentityBaseline:
    return IdentityBaseline.objects.get(identity=who)


def test_signins_teach_countries_and_ip_ranges_with_their_first_and_last_time():
    megan = identity()
    detect(
        [
            signin(megan, T0, SEATTLE, ip="20.190.151.10"),
            signin(megan, T0 + timedelta(days=2), SEATTLE, ip="20.190.151.99"),
        ]
    )
    baseline = _baseline(megan)
    assert baseline.countries == {"US": [int(T0.timestamp()), int((T0 + timedelta(days=2)).timestamp())]}
    assert list(baseline.ip_ranges) == ["20.190.151.0/24"]
    assert baseline.first_activity_at == T0


def test_failed_signins_do_not_make_a_country_familiar():
    megan = identity()
    detect([signin(megan, T0, LAGOS, ip="102.89.32.18", succeeded=False)])
    assert _baseline(megan).countries == {}


def test_each_batch_extends_the_baseline_without_recomputing_it():
    megan = identity()
    detect([signin(megan, T0, SEATTLE)])
    detect([signin(megan, T0 + timedelta(days=1), LONDON, ip="81.2.69.142")])
    baseline = _baseline(megan)
    assert set(baseline.countries) == {"US", "GB"}
    assert set(baseline.ip_ranges) == {"20.190.151.0/24", "81.2.69.0/24"}


def test_rerunning_a_batch_leaves_the_baseline_as_it_was():
    megan = identity()
    events = [signin(megan, T0, SEATTLE), mail(megan, T0, ["a@contoso.com", "b@example.org"])]
    detect(events)
    before = IdentityBaseline.objects.filter(identity=megan).values().get()
    detect(events)
    after = IdentityBaseline.objects.filter(identity=megan).values().get()
    assert {k: v for k, v in before.items() if k != "updated_at"} == {
        k: v for k, v in after.items() if k != "updated_at"
    }


def test_backfill_moves_first_seen_back_in_event_time():
    megan = identity()
    detect([signin(megan, T0, SEATTLE)])
    detect([signin(megan, T0 - timedelta(days=20), SEATTLE)])
    baseline = _baseline(megan)
    assert baseline.countries["US"][0] == int((T0 - timedelta(days=20)).timestamp())
    assert known_before(baseline.countries, "US", T0 - timedelta(days=10))
    assert not known_before(baseline.countries, "US", T0 - timedelta(days=20))
    assert not known_before(baseline.countries, "GB", T0)


def test_sending_volume_is_counted_per_day_in_recipients_and_external_recipients():
    megan = identity()
    day1 = [mail(megan, T0, ["a@contoso.com", "b@contoso.com", "x@example.org"]), mail(megan, T0, ["c@contoso.com"])]
    day2 = [mail(megan, T0 + timedelta(days=1), ["y@example.org"])]
    detect(day1)
    detect(day2)
    # A late trace row of day 1 arrives: only that day is recounted.
    detect([mail(megan, T0 + timedelta(hours=3), ["z@example.net"])])
    baseline = _baseline(megan)
    assert baseline.daily_recipients == {T0.date().isoformat(): 5, (T0 + timedelta(days=1)).date().isoformat(): 1}
    assert baseline.daily_external_recipients[T0.date().isoformat()] == 2


def test_sending_baseline_is_the_median_of_active_days_before_the_day():
    megan = identity()
    for day, count in [(1, 10), (2, 30), (3, 20), (5, 1000)]:
        detect([mail(megan, T0 - timedelta(days=day), [f"u{i}@contoso.com" for i in range(count)])])
    detect([mail(megan, T0, [f"t{i}@contoso.com" for i in range(500)])])  # the judged day itself is excluded
    usual = sending_baseline(_baseline(megan), before=T0.date(), days=14)
    assert (usual.median_recipients, usual.active_days) == (25, 4)
    assert sending_baseline(_baseline(megan), before=T0.date(), days=2).median_recipients == 20


def test_old_days_fall_out_of_the_sending_baseline():
    megan = identity()
    detect([mail(megan, T0 - timedelta(days=90), ["a@contoso.com"])])
    detect([mail(megan, T0, ["b@contoso.com"])])
    assert list(_baseline(megan).daily_recipients) == [T0.date().isoformat()]


def test_accepted_domains_default_to_the_identities_domains():
    identity("megan", "Contoso.com")
    identity("bart", "springfield.example")
    assert accepted_domains() == frozenset({"contoso.com", "springfield.example"})


def test_accepted_domains_setting_wins_when_set():
    identity("megan", "contoso.com")
    portal_settings_update(actor=None, accepted_domains=["@Fabrikam.com", " "])
    assert accepted_domains() == frozenset({"fabrikam.com"})


# --- incremental over batches in any order = full recompute from the history --------------------


def _history_recompute(events, is_internal) -> dict:
    """The baseline of ``events`` computed from scratch, straight from their definition."""
    recomputed = {"first": min(e.occurred_at for e in events), "last": max(e.occurred_at for e in events)}
    for name, value_of in (("countries", lambda e: e.country.upper()), ("ip_ranges", lambda e: ip_range(e.ip))):
        spans: dict[str, list[int]] = {}
        for event in events:
            if event.kind == Event.Kind.SIGNIN and event.succeeded is not False and value_of(event):
                moment = int(event.occurred_at.timestamp())
                first, last = spans.get(value_of(event), [moment, moment])
                spans[value_of(event)] = [min(first, moment), max(last, moment)]
        recomputed[name] = spans
    by_day = defaultdict(list)
    for event in events:
        if event.kind == Event.Kind.MAIL_SENT:
            by_day[event.occurred_at.astimezone(UTC).date().isoformat()].append(event)
    recomputed["daily"] = {day: sum(m.recipient_count for m in messages_of(mail)) for day, mail in by_day.items()}
    recomputed["external"] = {
        day: sum(m.external_count(is_internal) for m in messages_of(mail)) for day, mail in by_day.items()
    }
    return recomputed


def _random_stream(rng: random.Random, people) -> list:
    """Sign-ins (some failed, from a handful of places) and mail: messages whose trace rows
    (one per recipient) are spread over time, some without recipients, inside and outside."""
    places = [(SEATTLE, "20.190.151.10"), (LONDON, "81.2.69.142"), (LAGOS, "102.89.32.18"), (SEATTLE, "20.190.9.1")]
    addresses = ["a@contoso.com", "b@contoso.com", "C@Contoso.com", "x@example.org", "y@fabrikam.com"]
    events = []
    for _ in range(300):
        who, at = rng.choice(people), T0 + timedelta(minutes=rng.randrange(20 * 24 * 60))
        if rng.random() < 0.5:
            place, ip = rng.choice(places)
            events.append(signin(who, at, place, ip=ip, succeeded=rng.random() < 0.8))
            continue
        message_id = f"<m{rng.randrange(60)}-{who.pk}@contoso.com>" if rng.random() < 0.8 else None
        recipients = rng.sample(addresses, rng.randrange(0, 3))
        events.append(mail(who, at, recipients, message_id=message_id))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_baselines_over_shuffled_batches_equal_a_recompute_from_history(seed):
    rng = random.Random(seed)
    people = [identity(f"user{n}") for n in range(4)]
    events = _random_stream(rng, people)
    rng.shuffle(events)
    for start in range(0, len(events), 37):  # batches in arbitrary time order, each judged once
        detect(events[start : start + 37])
    detect(events[:50])  # and one judged again

    domains = accepted_domains()
    is_internal = lambda address: domain_is_internal(address_domain(address), domains)  # noqa: E731
    for who in people:
        mine = [e for e in events if e.identity_id == who.pk]
        expected, baseline = _history_recompute(mine, is_internal), _baseline(who)
        assert baseline.first_activity_at == expected["first"]
        # "last" values only serve pruning and move in steps: never later than the truth, at most a step behind.
        assert timedelta(0) <= expected["last"] - baseline.last_activity_at < LAST_ACTIVITY_STEP
        for name in ("countries", "ip_ranges"):
            stored = getattr(baseline, name)
            assert {value: first for value, (first, _) in stored.items()} == {
                value: first for value, (first, _) in expected[name].items()
            }
            for value, (_, last) in stored.items():
                assert 0 <= expected[name][value][1] - last < LAST_SEEN_STEP
        assert baseline.daily_recipients == expected["daily"]
        assert baseline.daily_external_recipients == expected["external"]
        assert sum(expected["daily"].values()) > 0


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_stores_the_sent_pairs_of_the_kept_days_so_today_is_counted_whole():
    executor = MigrationExecutor(connection)
    executor.migrate([("alerts", "0011_m365connection_to_m365")])
    megan, today = identity(), timezone.now() - timedelta(hours=1)
    mail(megan, today, ["a@contoso.com", "x@example.org"])  # stored (and judged) before the upgrade
    mail(megan, today - timedelta(days=90), ["old@contoso.com"])  # past the kept sending days
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert SentRecipient.objects.filter(identity=megan).count() == 2
    detect([mail(megan, today, ["b@contoso.com"])])  # the first batch after the upgrade
    day = today.astimezone(UTC).date().isoformat()
    assert _baseline(megan).daily_recipients == {day: 3}
    assert _baseline(megan).daily_external_recipients == {day: 1}

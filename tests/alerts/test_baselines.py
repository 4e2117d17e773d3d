"""Per-identity baselines: incremental, idempotent, on event time; and the accepted domains."""

from datetime import timedelta

import pytest

from airportal.services import portal_settings_update
from alerts.baselines import known_before, sending_baseline
from alerts.domains import accepted_domains
from alerts.models import IdentityBaseline
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

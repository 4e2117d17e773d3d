"""suspicious_email_sending and sending_limit_exceeded: bursts fire, a mail-heavy role does not."""

from datetime import timedelta

import pytest

from alerts.models import Event
from tests.alerts.support.detection import T0, alerts_of, detect, identity, mail
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def _colleagues(n, start=0):
    return [f"colleague{i}@contoso.com" for i in range(start, start + n)]


def _customers(n, start=0):
    return [f"customer{i}@example.org" for i in range(start, start + n)]


def _ordinary_fortnight(who, *, per_day=12, days=14):
    """``per_day`` internal recipients a working day for two weeks, judged day by day."""
    for day in range(days, 0, -1):
        at = T0 - timedelta(days=day)
        if at.weekday() < 5:
            detect([mail(who, at + timedelta(hours=h), _colleagues(per_day // 4, h)) for h in range(4)])


def _newsletter_fortnight(who, *, days=14):
    """800 external recipients every working day (8 hourly waves of 100), judged day by day."""
    for day in range(days, 0, -1):
        at = T0 - timedelta(days=day)
        if at.weekday() < 5:
            detect(
                [
                    mail(who, at + timedelta(hours=h, minutes=5), _customers(100, h * 100), "Contoso weekly deals")
                    for h in range(8)
                ]
            )


def test_phishing_wave_far_above_the_users_baseline_fires():
    megan = identity()
    _ordinary_fortnight(megan)
    wave = [
        mail(megan, T0 + timedelta(minutes=i), _customers(40, i * 40), "Updated remittance details") for i in range(6)
    ]
    detect(wave)
    [alert] = alerts_of("suspicious_email_sending")
    assert alert.evidence["window_recipients"] == 240
    assert alert.evidence["window_external_recipients"] == 240
    assert alert.evidence["baseline_median_recipients"] == 12
    assert alert.evidence["threshold_recipients"] == 100  # max(floor 100, 3 × 12)
    assert alert.evidence["top_subject_recipients"] == 240
    assert "Sent to 240 recipients within 60 minutes" in alert.description
    assert alert.event_count == 6


def test_marketing_account_sending_800_a_day_stays_quiet():
    news = identity("news")
    _newsletter_fortnight(news)
    today = [
        mail(news, T0 + timedelta(hours=h, minutes=5), _customers(100, h * 100), "Contoso weekly deals")
        for h in range(8)
    ]
    detect(today)
    assert alerts_of("suspicious_email_sending") == []
    assert alerts_of("sending_limit_exceeded") == []


def test_marketing_account_sending_its_whole_day_at_once_stays_quiet():
    news = identity("news")
    _newsletter_fortnight(news)
    detect([mail(news, T0 + timedelta(minutes=i), _customers(100, i * 100), "Flash sale") for i in range(8)])
    assert alerts_of("suspicious_email_sending") == []


def test_marketing_account_sending_four_times_its_day_fires():
    news = identity("news")
    _newsletter_fortnight(news)
    detect([mail(news, T0 + timedelta(minutes=i), _customers(100, i * 100), "Flash sale") for i in range(25)])
    [alert] = alerts_of("suspicious_email_sending")
    assert alert.evidence["baseline_median_recipients"] == 800
    assert alert.evidence["threshold_recipients"] == 2400


def test_a_burst_below_the_floor_stays_quiet_even_for_a_quiet_user():
    megan = identity()
    _ordinary_fortnight(megan, per_day=4)
    detect([mail(megan, T0 + timedelta(minutes=i), _colleagues(9, i * 9)) for i in range(10)])  # 90 < 100
    assert alerts_of("suspicious_email_sending") == []


def test_new_users_are_not_judged_before_the_learning_period():
    megan = identity()
    detect([mail(megan, T0 + timedelta(minutes=i), _customers(40, i * 40)) for i in range(6)])
    assert alerts_of("suspicious_email_sending") == []


def test_send_record_and_trace_rows_of_one_message_count_once():
    megan = identity()
    _ordinary_fortnight(megan)
    message_id = "<wave@contoso.com>"
    recipients = _customers(150)
    send = mail(megan, T0, [], "Invoice", message_id=message_id, source="o365-audit")
    trace = [mail(megan, T0, [r], "Invoice", message_id=message_id) for r in recipients]
    detect([send, *trace])
    [alert] = alerts_of("suspicious_email_sending")
    assert alert.evidence["window_recipients"] == 150
    assert alert.evidence["window_messages"] == 1


def test_external_recipients_over_the_hourly_limit_fire():
    news = identity("news")
    detect([mail(news, T0 + timedelta(minutes=i), _customers(101, i * 101)) for i in range(5)])  # 505 in 5 min
    [alert] = alerts_of("sending_limit_exceeded")
    assert alert.evidence["external_per_hour"] == {
        "limit": 500,
        "count": 505,
        "window_start": T0.isoformat(),
    }
    assert "505 external recipients within one hour; the limit is 500" in alert.description


def test_800_a_day_spread_over_the_day_is_under_every_limit():
    news = identity("news")
    detect([mail(news, T0 + timedelta(hours=h), _customers(100, h * 100)) for h in range(8)])
    assert alerts_of("sending_limit_exceeded") == []


def test_more_than_1000_recipients_in_24_hours_fires_the_daily_limit():
    news = identity("news")
    events = [mail(news, T0 + timedelta(hours=2 * h), _customers(91, h * 91)) for h in range(12)]  # 1,092
    detect(events)
    [alert] = alerts_of("sending_limit_exceeded")
    assert alert.evidence["recipients_per_day"]["count"] == 1092
    assert "recipients_per_day" in alert.evidence["reasons"]
    assert "external_per_hour" not in alert.evidence["reasons"]


def test_internal_recipients_have_their_own_hourly_limit():
    megan = identity()
    detect([mail(megan, T0 + timedelta(minutes=i), _colleagues(201, i * 201)) for i in range(5)])  # 1,005
    [alert] = alerts_of("sending_limit_exceeded")
    assert set(alert.evidence["reasons"]) == {"internal_per_hour", "recipients_per_day"}


def test_microsofts_sending_restriction_record_fires():
    megan = identity()
    restricted = EventFactory(
        identity=megan,
        occurred_at=T0,
        kind=Event.Kind.SENDING_RESTRICTED,
        source="o365-audit",
        subject="User restricted from sending email",
        attributes={"title": "User restricted from sending email", "severity": "high"},
    )
    detect([restricted])
    [alert] = alerts_of("sending_limit_exceeded")
    assert "Microsoft reported that it restricted this user" in alert.description
    assert list(alert.events.all()) == [restricted]

"""An identity's timeline (/users/<upn>/): header, charts aggregated in SQL, events by day, evidence, raw records."""

import json
import re
from datetime import datetime, timedelta

import plotly.graph_objects as go
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Event
from investigations.models import Finding, Investigation
from tests.factories import AlertFactory, EventFactory, InvestigationFactory
from tests.investigations.support import ATTACKER_IP, LAGOS, SEATTLE, T0, identity, mail, signin

pytestmark = pytest.mark.django_db


def figure(html: str, chart_id: str) -> dict:
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no figure {chart_id}"
    return json.loads(match.group(1))


def page(client, upn, **params):
    response = client.get(reverse("identity_timeline", args=[upn]), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def megan():
    """Ten quiet days in Seattle, then an attacker in Lagos one hour after a Seattle sign-in."""
    who = identity("megan.bowen")
    for day in range(10, 0, -1):
        at = T0 - timedelta(days=day)
        signin(who, at)
        mail(who, at + timedelta(hours=1), ["adele.vance@contoso.com"], "Weekly sync")
    signin(who, T0 - timedelta(hours=1))
    signin(who, T0, LAGOS, ip=ATTACKER_IP)
    for minute in range(30):
        mail(who, T0 + timedelta(minutes=10 + minute), [f"ap{minute}@fabrikam.com"], "Updated remittance <details>")
    return who


def test_header_shows_the_identity_its_verdict_and_its_open_investigation(analyst_client, megan):
    megan.is_vip, megan.department = True, "Finance"
    megan.save()
    investigation = InvestigationFactory(
        identity=megan, status=Investigation.Status.PENDING_ACTION, verdict="compromised", risk_score=92
    )
    AlertFactory(identity=megan)
    html = page(analyst_client, "Megan.Bowen@contoso.com")
    assert "VIP" in html and "Finance" in html
    assert ">92<" in html and "Compromised" in html
    assert reverse("investigations:investigation_detail", args=[investigation.id]) in html
    assert "Start investigation" not in html  # one is open already


def test_start_investigation_button_when_none_is_open(analyst_client, megan):
    html = page(analyst_client, megan.upn)
    assert "Start investigation" in html
    assert reverse("investigations:investigation_start") in html


def test_activity_chart_counts_events_per_hour_by_kind_with_alert_windows(analyst_client, megan):
    AlertFactory(identity=megan, first_activity_at=T0, last_activity_at=T0 + timedelta(minutes=40), severity="high")
    html = page(analyst_client, megan.upn, days=1)
    activity = figure(html, "chart-activity")
    totals = {trace["name"]: sum(trace["y"]) for trace in activity["data"]}
    assert totals == {"Mail sent": 31, "Sign-in": 2}  # the window is the 24 hours up to the last event
    mails = next(trace for trace in activity["data"] if trace["name"] == "Mail sent")
    busiest = datetime.fromisoformat(mails["x0"]) + timedelta(
        milliseconds=mails["dx"] * mails["y"].index(max(mails["y"]))
    )
    assert busiest == T0  # the burst's hour
    [shape] = activity["layout"]["shapes"]
    assert shape["x0"].startswith(T0.isoformat()[:16])
    go.Figure(activity)  # a valid plotly figure


def test_mail_chart_has_the_usual_band_from_the_14_days_before(analyst_client, megan):
    html = page(analyst_client, megan.upn, days=1)
    mail_figure = figure(html, "chart-mail")
    names = [trace["name"] for trace in mail_figure["data"]]
    assert names == ["usual low", "usual range (14 days before)", "mail sent"]
    sent = mail_figure["data"][-1]
    assert sum(sent["y"]) == 31  # the burst and the day before's weekly mail
    assert max(mail_figure["data"][1]["y"]) < 30  # the burst is far above the usual range
    go.Figure(mail_figure)


def test_sign_in_map_collapses_repeats_and_highlights_impossible_travel(analyst_client, megan):
    html = page(analyst_client, megan.upn, days=14)
    geo = figure(html, "chart-map")
    traces = {trace["name"]: trace for trace in geo["data"]}
    places = traces["sign-in location"]
    assert len(places["lat"]) == 2  # Seattle (eleven sign-ins) and Lagos
    assert any("Seattle, US: 11 sign-ins" in label for label in places["text"])
    impossible = traces["impossible travel"]
    assert impossible["lat"][:2] == [SEATTLE["latitude"], LAGOS["latitude"]]
    assert "move" not in traces  # no plausible moves in this story
    assert 'data-topojson="/static/vendor/topojson/"' in html
    go.Figure(geo)


def test_events_are_grouped_by_day_newest_first_and_filterable_by_kind(analyst_client, megan):
    html = page(analyst_client, megan.upn, days=14)
    days = re.findall(r'<h3 class="tl-day"><time datetime="([\d-]+)"', html)
    assert days == sorted(days, reverse=True) and len(days) == len(set(days))
    html = page(analyst_client, megan.upn, days=14, kind="signin")
    events = html[html.index('id="timeline-events"') :]
    assert "Mail sent" not in events
    assert len(re.findall(r'<details class="ev', events)) == 12


def test_evidence_of_alerts_and_findings_is_marked_and_remediation_shown(analyst_client, megan):
    burst = list(Event.objects.filter(identity=megan, kind=Event.Kind.MAIL_SENT).order_by("-occurred_at")[:2])
    alert = AlertFactory(identity=megan)
    alert.events.add(burst[0])
    finding = Finding.objects.create(
        investigation=InvestigationFactory(identity=megan), check_key="sending", title="Burst", verdict="malicious"
    )
    finding.events.add(burst[1])
    EventFactory(
        identity=megan, occurred_at=T0 + timedelta(hours=1), kind=Event.Kind.REMEDIATION, subject="Sessions revoked"
    )
    html = page(analyst_client, megan.upn, days=1)
    marked = re.findall(r'class="ev ev-evidence[^"]*" id="event-(\d+)"', html)
    assert sorted(int(i) for i in marked) == sorted([burst[0].id, burst[1].id])
    assert "ev-remediation" in html and "Sessions revoked" in html


def test_attacker_text_is_escaped_and_the_raw_record_loads_on_demand(analyst_client, megan):
    event = EventFactory(
        identity=megan,
        occurred_at=T0 + timedelta(hours=2),
        kind=Event.Kind.INBOX_RULE_CREATED,
        target="<script>alert(1)</script>",
        raw={"Parameters": [{"Name": "Name", "Value": "</script><img src=x onerror=alert(1)>"}]},
    )
    html = page(analyst_client, megan.upn, days=1)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onerror=alert(1)" not in html  # the raw record is not in the page until asked for
    raw = analyst_client.get(reverse("alerts:event_raw", args=[event.id])).content.decode()
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in raw and "<img" not in raw


def test_older_events_load_without_repeating_the_day(analyst_client, megan, monkeypatch):
    monkeypatch.setattr("alerts.views.timeline.PAGE_SIZE", 20)
    html = page(analyst_client, megan.upn, days=14)
    more = re.search(r'id="timeline-more".*?href="([^"]+)"', html, re.S).group(1).replace("&amp;", "&")
    first_ids = re.findall(r'id="event-(\d+)"', html)
    response = analyst_client.get(
        reverse("identity_timeline", args=[megan.upn]) + more, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-more"
    )
    rows = response.content.decode()
    assert "<html" not in rows
    assert not set(re.findall(r'id="event-(\d+)"', rows)) & set(first_ids)
    assert T0.date().isoformat() not in re.findall(r'<time datetime="([\d-]+)"', rows)  # that day is already open


def test_timeline_query_count_does_not_grow_with_the_events(analyst_client, megan, django_assert_num_queries):
    url = reverse("identity_timeline", args=[megan.upn])
    analyst_client.get(url)
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(url)
    for hour in range(60):
        signin(megan, T0 - timedelta(hours=hour, minutes=30), LAGOS if hour % 2 else SEATTLE)
    with django_assert_num_queries(len(few.captured_queries)):
        analyst_client.get(url)


def test_unknown_user_is_404(analyst_client):
    assert analyst_client.get(reverse("identity_timeline", args=["nobody@contoso.com"])).status_code == 404


def test_one_message_to_many_recipients_reads_as_one_row(analyst_client):
    sender = identity("sender")
    wave = "<wave-1@contoso.com>"
    for n in range(240):  # message trace: one row per recipient of the same message
        mail(sender, T0 + timedelta(seconds=n % 5), [f"r{n}@fabrikam.com"], "Updated remittance", message_id=wave)
    mail(sender, T0 + timedelta(hours=1), ["adele@contoso.com"], "Lunch?")
    html = analyst_client.get(reverse("identity_timeline", args=[sender.upn]) + "?days=30").content.decode()
    assert html.count('class="ev ev-message') == 1
    assert re.search(r"Updated remittance\s*<span class=\"muted\">→ 240 recipients</span>", html)
    assert "Lunch?" in html

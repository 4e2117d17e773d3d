"""Search across events: IP, address, subject, rule name or UPN; matches and a count per identity."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Event
from alerts.selectors import search
from tests.factories import EventFactory, IdentityFactory

pytestmark = pytest.mark.django_db
SEARCH = reverse("alerts:search")


def event_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="event-(\d+)"', html)}


def per_identity(html: str) -> dict[str, int]:
    table = html[html.index('id="who-heading"') : html.index('id="matches-heading"')]
    return {upn: int(n) for upn, n in re.findall(r'>([\w.]+@[\w.]+)</a>.*?<td class="num">(\d+)</td>', table, re.S)}


@pytest.fixture
def tenant():
    megan = IdentityFactory(upn="megan.bowen@contoso.com")
    lee = IdentityFactory(upn="lee.gu@contoso.com")
    adele = IdentityFactory(upn="adele.vance@contoso.com")
    return {
        "megan_signin": EventFactory(identity=megan, ip="102.89.32.18"),
        "lee_signin": EventFactory(identity=lee, ip="102.89.32.18"),
        "lee_signin_2": EventFactory(identity=lee, ip="102.89.32.18"),
        "adele_signin": EventFactory(identity=adele, ip="20.190.151.10"),
        "phish": EventFactory(identity=megan, kind=Event.Kind.MAIL_SENT, ip=None, subject="Updated remittance details"),
        "rule": EventFactory(identity=megan, kind=Event.Kind.INBOX_RULE_CREATED, ip=None, target="..invoice mover"),
        "forward": EventFactory(
            identity=adele, kind=Event.Kind.MAILBOX_FORWARDING_SET, ip=None, target="Adele.Private@Gmail.com"
        ),
    }


def test_ip_search_answers_who_else_signed_in_from_it(analyst_client, tenant):
    html = analyst_client.get(SEARCH, {"q": " 102.89.32.18 "}).content.decode()
    assert event_ids(html) == {tenant[k].id for k in ("megan_signin", "lee_signin", "lee_signin_2")}
    assert per_identity(html) == {"lee.gu@contoso.com": 2, "megan.bowen@contoso.com": 1}


def test_an_alert_about_no_user_is_found_but_counted_for_nobody(analyst_client, tenant):
    device = EventFactory(identity=None, kind=Event.Kind.EXTERNAL_ALERT, ip="102.89.32.18", subject="Defender alert")
    html = analyst_client.get(SEARCH, {"q": "102.89.32.18"}).content.decode()
    assert device.id in event_ids(html)
    assert 'class="ev-who muted">no user<' in html
    assert per_identity(html) == {"lee.gu@contoso.com": 2, "megan.bowen@contoso.com": 1}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("REMITTANCE", {"phish"}),  # subject, any case
        ("invoice mover", {"rule"}),  # rule name
        ("adele.private@gmail", {"forward"}),  # an address
    ],
)
def test_text_search_matches_subjects_rule_names_and_addresses(analyst_client, tenant, query, expected):
    html = analyst_client.get(SEARCH, {"q": query}).content.decode()
    assert event_ids(html) == {tenant[k].id for k in expected}


def test_upn_search_finds_the_users_events(analyst_client, tenant):
    html = analyst_client.get(SEARCH, {"q": "megan.bowen"}).content.decode()
    assert event_ids(html) == {tenant[k].id for k in ("megan_signin", "phish", "rule")}
    assert per_identity(html) == {"megan.bowen@contoso.com": 3}


def test_too_short_a_query_is_refused_with_a_reason(analyst_client, tenant):
    html = analyst_client.get(SEARCH, {"q": "in"}).content.decode()
    assert "Type at least 3 characters" in html
    assert not event_ids(html)


def test_attacker_text_in_results_is_escaped(analyst_client):
    EventFactory(kind=Event.Kind.MAIL_SENT, subject="<script>alert('x')</script> invoice")
    html = analyst_client.get(SEARCH, {"q": "<script>"}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; invoice" in html
    assert 'value="&lt;script&gt;"' in html


def test_counts_stop_at_the_cap_and_say_so(analyst_client, tenant, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_COUNT_CAP", 2)
    html = analyst_client.get(SEARCH, {"q": "102.89.32.18"}).content.decode()
    assert "counted up to 2" in html
    assert sum(per_identity(html).values()) == 2


def test_more_results_load_by_keyset(analyst_client, monkeypatch):
    monkeypatch.setattr("alerts.views.search.PAGE_SIZE", 4)
    EventFactory.create_batch(10, ip="198.51.100.7")
    html = analyst_client.get(SEARCH, {"q": "198.51.100.7"}).content.decode()
    first = event_ids(html)
    more = re.search(r'id="search-more".*?href="([^"]+)"', html, re.S).group(1).replace("&amp;", "&")
    rows = analyst_client.get(SEARCH + more, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-more").content.decode()
    assert len(first) == 4 and len(event_ids(rows)) == 4 and not first & event_ids(rows)


def test_search_query_count_does_not_grow_with_the_matches(analyst_client, django_assert_num_queries):
    EventFactory(ip="198.51.100.7")
    analyst_client.get(SEARCH, {"q": "198.51.100.7"})
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(SEARCH, {"q": "198.51.100.7"})
    for _ in range(20):
        EventFactory(ip="198.51.100.7", identity=IdentityFactory())
    with django_assert_num_queries(len(few.captured_queries)):
        analyst_client.get(SEARCH, {"q": "198.51.100.7"})


def test_search_needs_the_view_capability(client, personas):
    client.force_login(personas["ingest"])
    assert client.get(SEARCH, {"q": "anything"}).status_code == 403


@pytest.mark.postgres
def test_text_search_can_use_the_trigram_indexes_on_postgres(require_postgres, tenant):
    parsed = search.search_resolve("megan")
    sql, params = search._matching(parsed).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_subject_trgm" in plan and "event_target_trgm" in plan, plan
    assert "Seq Scan on alerts_event" not in plan, plan


def test_a_query_matching_too_many_upns_searches_subjects_and_targets_only(analyst_client, tenant, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_MAX_IDENTITIES", 2)
    html = analyst_client.get(SEARCH, {"q": "contoso.com"}).content.decode()
    assert "only subjects and targets were searched" in html
    assert event_ids(html) == set()  # no subject or target holds "contoso.com"

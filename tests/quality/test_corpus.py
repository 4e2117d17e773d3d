"""The generator: deterministic, in the shapes the adapters read, with the stories it promises."""

import json
from collections import Counter
from datetime import timedelta

import pytest

from alerts.adapters import ADAPTERS, AdapterContext
from alerts.geo import ip_location
from alerts.models import Event
from tests.quality.corpus import SEED, build_corpus
from tests.quality.corpus.labels import BENIGN, COMPROMISED, ODD
from tests.quality.corpus.network import ALL
from tests.quality.corpus.tenant import DOMAIN


def _context():
    return AdapterContext(tenant_domains_loader=lambda: frozenset({DOMAIN}))


def test_same_seed_gives_the_same_records(corpus):
    again = build_corpus(SEED)
    assert [(r.source, r.arrives_at, json.dumps(r.payload, sort_keys=True)) for r in again.records] == [
        (r.source, r.arrives_at, json.dumps(r.payload, sort_keys=True)) for r in corpus.records
    ]
    assert again.labels == corpus.labels


def test_another_seed_gives_another_tenant(corpus):
    other = build_corpus(SEED + 1)
    assert set(other.labels) != set(corpus.labels)


def test_every_record_goes_through_its_adapter(corpus):
    context = _context()
    kinds = Counter()
    for record in corpus.records:
        events = ADAPTERS[record.source](record.payload, context)  # raises RecordError when rejected
        assert events, record.payload
        kinds.update(event.kind for event in events)
    for kind in (
        Event.Kind.SIGNIN,
        Event.Kind.SIGNIN_FAILED,
        Event.Kind.MAIL_SENT,
        Event.Kind.MAIL_RECEIVED,
        Event.Kind.INBOX_RULE_CREATED,
        Event.Kind.MAILBOX_FORWARDING_SET,
        Event.Kind.MAILBOX_PERMISSION_ADDED,
        Event.Kind.SEND_AS_PERMISSION_ADDED,
        Event.Kind.MFA_METHOD_CHANGED,
        Event.Kind.OAUTH_CONSENT,
        Event.Kind.MAIL_ITEMS_ACCESSED,
        Event.Kind.EXTERNAL_ALERT,
        Event.Kind.RISK_DETECTION,
    ):
        assert kinds[kind], f"no {kind} event in the corpus"


def test_graph_signins_read_as_microsoft_writes_them(corpus):
    context = _context()
    signins = [r.payload for r in corpus.records if r.source == "entra-signins" and "riskEventType" not in r.payload]
    device_code = [s for s in signins if s["authenticationProtocol"] == "deviceCode"]
    assert len(device_code) == 1
    event = ADAPTERS["entra-signins"](device_code[0], context)[0]
    assert event.attributes["authentication_protocol"] == "deviceCode"
    assert event.attributes["session_id"] == device_code[0]["sessionId"]
    assert event.country == "JP" and event.app == "Microsoft Authentication Broker"
    replayed = Counter(s["sessionId"] for s in signins)
    assert any(
        count > 1 and len({s["location"]["countryOrRegion"] for s in signins if s["sessionId"] == sid}) > 1
        for sid, count in replayed.items()
    ), "the token replay story reuses one session id from two countries"


def test_audit_copies_share_the_graph_request_id(corpus):
    graph_ids = {r.payload["id"] for r in corpus.records if r.source == "entra-signins"}
    copies = [r.payload for r in corpus.records if r.payload.get("Operation") in ("UserLoggedIn", "UserLoginFailed")]
    assert copies and all(copy["IntraSystemId"] in graph_ids for copy in copies)


@pytest.mark.parametrize("network", ALL, ids=lambda n: n.key)
def test_networks_geolocate_where_they_claim(network, settings):
    """Records without a location (audit copies, cmdlets) are placed by IP: it must agree."""
    import random

    settings.GEOIP_CITY_DB = ""
    rng = random.Random(1)
    for _ in range(50):
        ip = network.ip(rng)
        assert ip_location(ip).country == network.country, ip


def test_labels_cover_the_stories(corpus):
    truths = Counter(label.truth for label in corpus.labels.values())
    assert truths[COMPROMISED] >= 14
    assert truths[ODD] >= 3
    assert truths[BENIGN] >= 195  # every story's victim is one staff member fewer in the background
    assert len({label.story for label in corpus.labels.values() if label.truth == COMPROMISED}) == truths[COMPROMISED]
    people = {r.payload.get("userPrincipalName") for r in corpus.records if r.source == "entra-signins"}
    assert set(corpus.labels) >= people - {None}


def test_the_offline_detection_arrives_hours_after_the_registration_and_names_its_sign_in(corpus):
    victim = next(upn for upn, label in corpus.labels.items() if label.story == "offline_risk_mfa")
    mine = [r for r in corpus.records if victim in (r.payload.get("userPrincipalName"), r.payload.get("UserId"))]
    [detection] = [r for r in mine if "riskEventType" in r.payload]
    [registration] = [r for r in mine if r.payload.get("Operation") == "User registered security info."]
    signins = {
        r.payload["id"]: r.payload for r in mine if r.source == "entra-signins" and "riskEventType" not in r.payload
    }
    named = signins[detection.payload["requestId"]]
    assert detection.payload["detectionTimingType"] == "offline" and named["riskLevelDuringSignIn"] == "none"
    assert detection.arrives_at - registration.arrives_at > timedelta(hours=4)
    event = ADAPTERS["entra-signins"](detection.payload, _context())[0]
    assert event.kind == Event.Kind.RISK_DETECTION and event.occurred_at.isoformat().startswith(
        named["createdDateTime"][:16]
    )

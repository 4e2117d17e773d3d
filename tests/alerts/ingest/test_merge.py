"""The audit log's and Graph's copies of one sign-in become one event holding what both say."""

import pytest

from alerts.ingest import ingest_records
from alerts.models import DetectionBatch, Event
from tests.alerts.support.ingest import audit_logon, graph_signin

pytestmark = pytest.mark.django_db

OFFICEHOME = "4765445b-32c6-49b0-83e6-1d93765276ca"


def _audit(request_id: str):
    return audit_logon(
        request_id,
        ApplicationId=OFFICEHOME,
        ObjectId="00000002-0000-0ff1-ce00-000000000000",
        InterSystemsId="c2ced078-ad57-4079-a743-5c37f5284790",
        ExtendedProperties=[
            {"Name": "UserAgent", "Value": "axios/1.6.8"},
            {"Name": "RequestType", "Value": "OAuth2:Authorize"},
            {"Name": "KeepMeSignedIn", "Value": "True"},
        ],
        DeviceProperties=[{"Name": "SessionId", "Value": "0c4a1cd6-aaaa-4bbb-8ccc-000000000001"}],
    )


def _graph(request_id: str):
    return graph_signin(
        request_id.upper(),
        appId=OFFICEHOME,
        appDisplayName="OfficeHome",
        userAgent="axios/1.6.8",
        resourceDisplayName="Office 365 Exchange Online",
        correlationId="c2ced078-ad57-4079-a743-5c37f5284790",
        sessionId="0c4a1cd6-aaaa-4bbb-8ccc-000000000001",
        riskLevelDuringSignIn="high",
        riskState="atRisk",
        riskEventTypes_v2=["attackerinTheMiddle"],
        authenticationRequirement="multiFactorAuthentication",
        location={"city": "Lagos", "countryOrRegion": "NG", "geoCoordinates": {"latitude": 6.5, "longitude": 3.4}},
    )


def _ledger_entries(event: Event) -> int:
    return sum(event.pk in batch.event_ids for batch in DetectionBatch.objects.all())


def _ingest(*copies):
    for source, record in copies:
        ingest_records(source=source, records=[record])


def _merged_view(event: Event) -> dict:
    """What detection and the analyst read, leaving out which copy happened to be stored first."""
    attributes = dict(event.attributes)
    return {
        **{
            name: getattr(event, name)
            for name in ("occurred_at", "kind", "operation", "ip", "country", "city", "latitude", "longitude")
        },
        **{name: getattr(event, name) for name in ("app", "user_agent", "succeeded", "target")},
        "attributes": attributes,
    }


def test_a_late_graph_copy_fills_the_audit_event_and_graph_values_win():
    _ingest(("o365-audit", _audit("r-1")), ("entra-signins", _graph("r-1")))
    event = Event.objects.get()
    assert (event.source, event.app, event.country, event.city) == ("o365-audit", "OfficeHome", "NG", "Lagos")
    assert event.attributes["risk_level"] == "high"
    assert event.attributes["risk_event_types"] == ["attackerinTheMiddle"]
    assert event.attributes["location_source"] == "source"
    # what only the audit copy says is kept
    assert event.attributes["request_type"] == "OAuth2:Authorize" and event.attributes["keep_me_signed_in"] is True
    assert event.attributes["sources"] == ["entra-signins", "o365-audit"]
    assert event.occurred_at.isoformat() == "2024-03-01T10:00:01+00:00"  # Graph's time


def test_either_order_of_arrival_stores_the_same_event():
    _ingest(("o365-audit", _audit("a-1")), ("entra-signins", _graph("a-1")))
    _ingest(("entra-signins", _graph("b-1")), ("o365-audit", _audit("b-1")))
    audit_first, graph_first = (Event.objects.get(dedup_key=f"signin:{key}") for key in ("a-1", "b-1"))
    first, second = _merged_view(audit_first), _merged_view(graph_first)
    for view in (first, second):  # the request ids differ by construction
        for key in ("request_id", "original_request_id"):
            view["attributes"].pop(key, None)
    assert first == second


def test_the_late_richer_copy_is_judged_again_and_re_sending_either_copy_changes_nothing():
    _ingest(("o365-audit", _audit("r-2")))
    event = Event.objects.get()
    assert _ledger_entries(event) == 1
    _ingest(("entra-signins", _graph("r-2")))
    assert _ledger_entries(event) == 2
    before = _merged_view(Event.objects.get())
    result = ingest_records(source="entra-signins", records=[_graph("r-2")])
    again = ingest_records(source="o365-audit", records=[_audit("r-2")])
    assert (result.created, result.duplicates, again.created, again.duplicates) == (0, 1, 0, 1)
    assert _ledger_entries(event) == 2
    assert _merged_view(Event.objects.get()) == before


def test_a_poorer_late_copy_that_adds_nothing_detection_reads_is_not_judged_again():
    _ingest(("entra-signins", _graph("r-3")))
    event = Event.objects.get()
    _ingest(("o365-audit", _audit("r-3")))
    assert Event.objects.get().attributes["request_type"] == "OAuth2:Authorize"
    assert _ledger_entries(event) == 1


def test_copies_of_different_sign_ins_are_not_merged():
    _ingest(("o365-audit", _audit("r-4")), ("entra-signins", _graph("r-5")))
    assert Event.objects.count() == 2
    assert sorted(Event.objects.values_list("app", flat=True)) == sorted([OFFICEHOME, "OfficeHome"])

"""``ingest_records``: identities, idempotency, cross-source sign-in dedup, partial batches, queries."""

import pytest

from airportal.errors import NotFound
from alerts.ingest import IngestResult, UnreadableRecord, ingest_records
from alerts.models import Event, Identity
from tests.alerts.support.ingest import audit_logon, graph_signin
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def test_identities_are_created_once_with_a_lower_cased_upn_and_what_the_source_tells():
    ingest_records(source="o365-audit", records=[audit_logon("r1"), audit_logon("r2", user="MEGAN@contoso.COM")])
    ingest_records(source="entra-signins", records=[graph_signin("r3")])
    identity = Identity.objects.get()
    assert (identity.upn, identity.display_name) == ("megan@contoso.com", "Megan Bowen")
    assert identity.first_seen_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert identity.last_seen_at.isoformat() == "2024-03-01T10:00:01+00:00"
    assert identity.events.count() == 3


def test_existing_names_are_not_overwritten():
    IdentityFactory(upn="megan@contoso.com", display_name="Megan (HR name)")
    ingest_records(source="entra-signins", records=[graph_signin()])
    assert Identity.objects.get().display_name == "Megan (HR name)"


def test_reingesting_the_same_records_creates_nothing():
    records = [audit_logon("r1"), audit_logon("r2")]
    first = ingest_records(source="o365-audit", records=records)
    again = ingest_records(source="o365-audit", records=records)
    assert (first.created, first.duplicates) == (2, 0)
    assert (again.received, again.created, again.duplicates, again.event_ids) == (2, 0, 2, [])
    assert Event.objects.count() == 2


def test_the_same_sign_in_from_the_audit_log_and_from_graph_is_stored_once():
    audit = ingest_records(source="o365-audit", records=[audit_logon()])
    graph = ingest_records(source="entra-signins", records=[graph_signin()])
    assert (audit.created, graph.created, graph.duplicates) == (1, 0, 1)
    event = Event.objects.get()
    assert (event.source, event.dedup_key) == ("o365-audit", "signin:a196489a-9a7c-4824-b35a-5bfdec600c00")


def test_a_partial_batch_stores_the_good_records_and_names_the_bad_ones():
    records = [
        audit_logon("r1"),
        "not a record",
        audit_logon("r2", CreationTime="soon"),
        UnreadableRecord("line 4 is not valid JSON"),
    ]
    result = ingest_records(source="o365-audit", records=records)
    assert (result.received, result.created) == (4, 1)
    assert result.rejected == [
        {"index": 1, "error": "a record must be a JSON object, not a string"},
        {"index": 2, "error": "unreadable timestamp 'soon'"},
        {"index": 3, "error": "line 4 is not valid JSON"},
    ]
    assert result.event_ids == list(Event.objects.values_list("id", flat=True))


def test_duplicates_inside_one_batch_count_once():
    result = ingest_records(source="o365-audit", records=[audit_logon("r1"), audit_logon("r1")])
    assert (result.created, result.duplicates) == (1, 1)


def test_an_unknown_source_is_not_found():
    with pytest.raises(NotFound, match="Unknown source 'syslog'"):
        ingest_records(source="syslog", records=[])


def test_attacker_text_is_stored_as_data_cleaned_and_cut_to_the_column():
    subject = "<img src=x onerror=alert(1)>\x00" + "A" * 2000
    record = {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": "s1",
        "Operation": "Send",
        "Workload": "Exchange",
        "UserId": "megan@contoso.com",
        "Item": {"Subject": subject + "\ud800"},
        "Evil": "\x00\ud800",
    }
    assert ingest_records(source="o365-audit", records=[record]).created == 1
    event = Event.objects.get()
    assert event.subject == ("<img src=x onerror=alert(1)>" + "A" * 2000)[:512]
    assert event.raw["Evil"] == "\ufffd"


def test_missing_record_ids_fall_back_to_a_stable_fingerprint():
    record = audit_logon("r1")
    del record["Id"], record["IntraSystemId"]
    ingest_records(source="o365-audit", records=[record])
    assert ingest_records(source="o365-audit", records=[dict(record)]).duplicates == 1
    assert Event.objects.get().source_record_id.startswith("sha1:")


def test_events_get_a_country_from_the_ip_unless_the_source_reports_one():
    ingest_records(source="o365-audit", records=[audit_logon("r1")])
    ingest_records(
        source="entra-signins", records=[graph_signin("r2", location={"countryOrRegion": "FR", "city": "Paris"})]
    )
    geo, reported = Event.objects.order_by("source_record_id")
    assert (geo.country, geo.attributes["location_source"]) == ("US", "geoip")
    assert (reported.country, reported.city, reported.attributes["location_source"]) == ("FR", "Paris", "source")


def test_a_batch_costs_the_same_few_queries_whatever_its_size():
    def queries_for(count: int, prefix: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            ingest_records(
                source="o365-audit",
                records=[audit_logon(f"{prefix}{n}", user=f"{prefix}{n}@c.com") for n in range(count)],
            )
        return len(captured)

    small, large = queries_for(3, "a"), queries_for(40, "b")
    assert small == large
    # savepoint, identity lookup, insert of the new identities, their re-read, event insert, the
    # detection ledger's entries, release, what detection's hand-off reads; PostgreSQL adds its
    # staging table (create if missing, truncate)
    assert small <= 10


def test_result_counts_add_up():
    result = ingest_records(source="o365-audit", records=[audit_logon("r1"), 5, audit_logon("r1")])
    assert isinstance(result, IngestResult)
    assert result.received == result.created + result.duplicates + len(result.rejected) == 3

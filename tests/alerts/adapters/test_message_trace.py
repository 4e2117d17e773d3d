"""The message trace adapter: direction from the tenant's domains, one event per message and recipient."""

from alerts.models import Event
from tests.alerts.support.ingest import dataset_lines, error_of, one

SAMPLES = "sekoia-intake-formats/o365_message_trace.jsonl"


def test_reporting_service_rows_are_read():
    first, second = dataset_lines(SAMPLES)
    event = one("message-trace", first, "example.corp")
    assert (event.kind, event.upn) == (Event.Kind.MAIL_RECEIVED, "foo.bar@example.corp")
    assert event.occurred_at.isoformat() == "2022-07-25T12:26:13.240000+00:00"
    assert event.source_record_id == "3b4fc661-180d-4c2f-60c9-08da6e38dd10:foo.bar@example.corp"
    assert event.ip == "1.1.1.1"
    assert event.subject.startswith("PIM: MessageTrace API service account")
    assert one("message-trace", second, "abc.com").kind == Event.Kind.MAIL_SENT


def row(**overrides) -> dict:
    record = {
        "Received": "2024-03-01T10:00:00.1234567",
        "SenderAddress": "Megan@Contoso.com",
        "RecipientAddress": "victim@partner.example",
        "Subject": "Invoice 4711",
        "Status": "Delivered",
        "FromIP": "203.0.113.5",
        "ToIP": None,
        "MessageId": "<abc@contoso.com>",
        "MessageTraceId": "f0e1",
        "Size": "2048",
    }
    record.update(overrides)
    return record


def test_tenant_sender_is_mail_sent_with_its_recipient():
    event = one("message-trace", row(), "contoso.com")
    assert (event.kind, event.upn, event.target) == (
        Event.Kind.MAIL_SENT,
        "megan@contoso.com",
        "victim@partner.example",
    )
    assert event.attributes["recipients"] == ["victim@partner.example"]
    assert event.attributes["direction"] == "outbound"
    assert event.attributes["size_bytes"] == 2048
    assert event.source_record_id == "f0e1:victim@partner.example"


def test_without_known_domains_the_sender_is_assumed():
    event = one("message-trace", row())
    assert (event.kind, event.upn, event.attributes["direction"]) == (
        Event.Kind.MAIL_SENT,
        "megan@contoso.com",
        "unknown",
    )


def test_rows_without_addresses_or_time_are_errors():
    assert "neither SenderAddress nor RecipientAddress" in error_of(
        "message-trace", row(SenderAddress=None, RecipientAddress="")
    )
    assert error_of("message-trace", row(Received="")) == "missing timestamp"

"""The normalised ``events`` schema: validated by the serializer that documents it."""

from alerts.models import Event
from tests.alerts.support.ingest import error_of, one


def record(**overrides) -> dict:
    data = {
        "id": "vpn-1",
        "user": "Megan@Contoso.com",
        "user_display_name": "Megan Bowen",
        "user_department": "Finance",
        "occurred_at": "2024-03-01T10:00:00",
        "kind": "signin",
        "ip": "[2001:db8::9]:443",
        "succeeded": "true",
        "attributes": {"error_code": 0},
    }
    data.update(overrides)
    return data


def test_a_valid_record_becomes_an_event():
    event = one("events", record())
    assert (event.upn, event.kind, event.ip, event.succeeded) == (
        "megan@contoso.com",
        Event.Kind.SIGNIN,
        "2001:db8::9",
        True,
    )
    assert (event.display_name, event.department) == ("Megan Bowen", "Finance")
    assert event.occurred_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert event.source_record_id == "vpn-1"


def test_kind_defaults_to_other():
    assert one("events", record(kind=None) | {"kind": "other"}).kind == Event.Kind.OTHER
    data = record()
    del data["kind"]
    assert one("events", data).kind == Event.Kind.OTHER


def test_invalid_fields_are_named_in_the_error():
    assert "kind" in error_of("events", record(kind="teleported"))
    assert "ip: not an IP address" in error_of("events", record(ip="999.1.1.1"))
    assert "user" in error_of("events", record(user=""))
    assert "occurred_at" in error_of("events", record(occurred_at="soon"))
    assert "attributes" in error_of("events", record(attributes=[1, 2]))

"""``events``: AIR Portal's own normalised schema, for any product that is not Microsoft's.

``EventRecordSerializer`` is both the validation of a record and its documentation in the
OpenAPI schema (``POST /api/v1/ingest/events/``).
"""

from typing import Any

from rest_framework import serializers

from alerts.adapters.base import AdapterContext, NormalisedEvent, RecordError
from alerts.adapters.fields import normalise_ip, require_object, upn
from alerts.models import Event


class EventRecordSerializer(serializers.Serializer):
    """One activity in AIR Portal's normalised schema. Text longer than its column is truncated."""

    id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Your id for the record; posting the same id again is a no-op. Default: a hash of the record.",
    )
    user = serializers.CharField(max_length=320, help_text="The account's UPN (compared case-insensitively).")
    user_display_name = serializers.CharField(required=False, allow_blank=True, max_length=256)
    user_department = serializers.CharField(required=False, allow_blank=True, max_length=256)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; without a zone it is UTC.")
    kind = serializers.ChoiceField(choices=Event.Kind.choices, default=Event.Kind.OTHER)
    operation = serializers.CharField(required=False, allow_blank=True, help_text="Your product's name for it.")
    ip = serializers.CharField(required=False, allow_blank=True, help_text="IPv4 or IPv6, a port is ignored.")
    country = serializers.CharField(
        required=False, allow_blank=True, max_length=2, help_text="ISO 3166 alpha-2; default: from the IP."
    )
    city = serializers.CharField(required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    app = serializers.CharField(required=False, allow_blank=True, help_text="Application or client used.")
    user_agent = serializers.CharField(required=False, allow_blank=True)
    succeeded = serializers.BooleanField(required=False, allow_null=True, default=None)
    subject = serializers.CharField(required=False, allow_blank=True, help_text="Mail subject, alert title…")
    target = serializers.CharField(
        required=False, allow_blank=True, help_text="Rule name, recipient, delegate, application…"
    )
    dedup_key = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Records of any source with the same key are stored once (e.g. 'signin:<request id>').",
    )
    attributes = serializers.DictField(
        required=False, help_text="Source details for detection; see docs/ingest.md for the keys detectors read."
    )

    def validate_ip(self, value: str) -> str | None:
        if not value:
            return None
        address = normalise_ip(value)
        if address is None:
            raise serializers.ValidationError("not an IP address")
        return address


def normalise(record: Any, ctx: AdapterContext) -> list[NormalisedEvent]:
    serializer = EventRecordSerializer(data=require_object(record))
    if not serializer.is_valid():
        raise RecordError(
            "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in serializer.errors.items())
        )
    data = serializer.validated_data
    return [
        NormalisedEvent(
            upn=upn(data["user"]),
            occurred_at=data["occurred_at"],
            kind=data["kind"],
            operation=data.get("operation", ""),
            source_record_id=data.get("id", ""),
            dedup_key=data.get("dedup_key") or None,
            ip=data.get("ip"),
            country=data.get("country", "").upper(),
            city=data.get("city", ""),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            app=data.get("app", ""),
            user_agent=data.get("user_agent", ""),
            succeeded=data.get("succeeded"),
            subject=data.get("subject", ""),
            target=data.get("target", ""),
            attributes=dict(data.get("attributes") or {}),
            raw=record,
            display_name=data.get("user_display_name", ""),
            department=data.get("user_department", ""),
        )
    ]

"""``POST /api/v1/ingest/<source>/``: records in, a per-record account out."""

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from airportal.api.permissions import capability
from airportal.errors import NotFound
from airportal.roles import Capability
from alerts.adapters import SOURCES
from alerts.adapters.events import EventRecordSerializer
from alerts.ingest import ingest_records
from alerts.ingest.readers import body_records


class RejectedRecordSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in the body, from 0.")
    error = serializers.CharField()


class SkippedRecordSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in the body, from 0.")
    reason = serializers.CharField(help_text="Why a valid record was not stored (it names no user).")


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Records with at least one new event.")
    duplicates = serializers.IntegerField(help_text="Records already stored (re-posting is a no-op).")
    rejected = RejectedRecordSerializer(many=True, help_text="Malformed records, with the reason.")
    skipped = SkippedRecordSerializer(many=True, help_text="Valid records out of scope (no user to attribute).")


class _RawBody(BaseParser):
    """Declares the media types; the view reads the stream itself (streaming, size and gzip limits)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        """Reads nothing, so the view can stream the body. DRF gets here when ``request.POST`` is
        touched, as the CSRF check of a session-authenticated request does."""
        return {}


class _NdjsonBody(_RawBody):
    media_type = "application/x-ndjson"


class IngestView(APIView):
    permission_classes = [capability(Capability.INGEST)]
    parser_classes = [_RawBody, _NdjsonBody]

    @extend_schema(
        operation_id="ingest_create",
        summary="Ingest activity records of one source",
        description=(
            "Sources: `o365-audit` (Office 365 Management Activity API records, or Purview export rows with "
            "`AuditData`), `entra-signins` (Graph `signIn`, Azure Monitor sign-in/audit records), "
            "`message-trace` (Exchange Online message trace rows), `graph-alerts` (Graph security alert v2), "
            '`events` (the normalised schema below). Body: a JSON array, a Graph page `{"value": [...]}` or '
            "NDJSON (`Content-Type: application/x-ndjson`); `Content-Encoding: gzip` accepted. Valid records "
            "are stored, each invalid one is reported with its index; re-posting a record is a no-op. "
            "Unreadable body: 400; wrong content type: 415; body over the limit: 413; nothing is stored then."
        ),
        parameters=[OpenApiParameter("source", str, OpenApiParameter.PATH, enum=list(SOURCES))],
        request={
            "application/json": EventRecordSerializer(many=True),
            "application/x-ndjson": EventRecordSerializer,
        },
        responses={
            200: IngestResultSerializer,
            400: OpenApiResponse(description="Unreadable body (not JSON, not gzip, wrong shape)."),
            403: OpenApiResponse(description="Only the ingest and admin roles may post."),
            404: OpenApiResponse(description="Unknown source."),
            413: OpenApiResponse(description="Body or inflated body over the configured limit."),
            415: OpenApiResponse(description="Content-Type or Content-Encoding not supported."),
        },
        examples=[
            OpenApiExample(
                "events",
                request_only=True,
                value=[
                    {
                        "id": "vpn-4711",
                        "user": "megan@contoso.com",
                        "occurred_at": "2024-05-01T08:30:00Z",
                        "kind": "signin",
                        "ip": "203.0.113.7",
                        "app": "Corporate VPN",
                        "succeeded": True,
                        "attributes": {"error_code": 0},
                    }
                ],
            )
        ],
        tags=["ingest"],
    )
    def post(self, request, source: str):
        if source not in SOURCES:
            raise NotFound(f"Unknown source {source!r}: use one of {', '.join(SOURCES)}.")
        meta = request.META
        length = meta.get("CONTENT_LENGTH")
        records = body_records(
            request._request,
            content_type=meta.get("CONTENT_TYPE", ""),
            content_encoding=meta.get("HTTP_CONTENT_ENCODING", ""),
            content_length=int(length) if length and length.isdigit() else None,
            max_body=settings.INGEST_MAX_BODY_BYTES,
            max_inflated=settings.INGEST_MAX_INFLATED_BYTES,
        )
        # One transaction for the whole body: a body that turns out unreadable half-way stores nothing.
        with transaction.atomic():
            result = ingest_records(source=source, records=records)
        return Response(IngestResultSerializer(result).data)

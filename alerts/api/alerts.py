"""``/api/v1/alerts/``: list and read alerts, and triage them (assign, start, resolve, dismiss, reopen).

Reads need the ``view`` capability, triage the ``triage`` capability. Every write goes through
``alerts.services``; a refused move answers 409 (or 400 for bad input) with a clear ``detail``.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from airportal.api.pagination import KeysetPagination
from airportal.api.permissions import capability
from airportal.roles import Capability
from alerts.models import Alert, Event, Severity
from alerts.selectors.alerts import AlertFilters, alert_events, alert_get, alert_list
from alerts.services import alert_assign, alert_bulk_assign, alert_bulk_set_status, alert_set_status

CLASSIFICATIONS = [value for value in Alert.Classification.values if value]


class AlertSerializer(serializers.ModelSerializer):
    user = serializers.CharField(
        source="identity.upn",
        default=None,
        allow_null=True,
        help_text="The identity's UPN; null for another product's alert that names no user (see subjects).",
    )
    subjects = serializers.ListField(
        source="subject_names",
        child=serializers.CharField(),
        read_only=True,
        help_text="For an alert that names no user: the devices, then the apps, the source named.",
    )
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
    investigation = serializers.IntegerField(
        source="investigation_id", allow_null=True, help_text="The investigation the alert joined, or null."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "detector",
            "title",
            "severity",
            "status",
            "classification",
            "user",
            "subjects",
            "assignee",
            "event_count",
            "first_activity_at",
            "last_activity_at",
            "created_at",
            "acknowledged_at",
            "closed_at",
            "investigation",
        ]
        read_only_fields = fields


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "occurred_at", "kind", "operation", "source", "ip", "country", "city", "subject", "target"]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(source="event_list", many=True, help_text="The first 100 events it rests on.")

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "description", "evidence", "policy_version", "events"]
        read_only_fields = fields


def _choices(request, name: str, choices: list[str]) -> tuple[str, ...]:
    """A comma-separated (or repeated) query parameter whose values must be among ``choices``."""
    values = [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()]
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise ValidationError({name: f"Unknown {name} {', '.join(unknown)}: use {', '.join(choices)}."})
    return tuple(values)


class AlertListView(ListAPIView):
    permission_classes = [capability(Capability.VIEW)]
    serializer_class = AlertSerializer
    pagination_class = KeysetPagination

    @extend_schema(
        summary="List alerts, newest first",
        parameters=[
            OpenApiParameter("user", str, description="The identity's UPN (case-insensitive)."),
            OpenApiParameter("status", str, description="new, in_progress, resolved, dismissed; comma-separated."),
            OpenApiParameter("severity", str, description="informational, low, medium, high; comma-separated."),
            OpenApiParameter("detector", str, description="A detector key, e.g. suspicious_signin."),
            OpenApiParameter("assignee", str, description="Username of the assignee."),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        request = self.request
        filters = AlertFilters(
            user=request.query_params.get("user", ""),
            statuses=_choices(request, "status", Alert.Status.values),
            severities=_choices(request, "severity", Severity.values),
            detector=request.query_params.get("detector", ""),
            assignee=request.query_params.get("assignee", ""),
        )
        return alert_list(filters=filters)


class AlertDetailView(APIView):
    permission_classes = [capability(Capability.VIEW)]

    @extend_schema(
        summary="One alert: why it fired, the compared values and its events", responses=AlertDetailSerializer
    )
    def get(self, request, alert_id: int):
        return Response(AlertDetailSerializer(_alert(alert_id)).data)


def _alert(alert_id: int) -> Alert:
    """The alert with its first 100 events as ``event_list`` (what ``AlertDetailSerializer`` reads)."""
    alert = alert_get(alert_id=alert_id)
    alert.event_list = alert_events(alert=alert, limit=100)
    return alert


class TriageSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class CloseSerializer(TriageSerializer):
    classification = serializers.ChoiceField(choices=CLASSIFICATIONS)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, help_text="Username, or null to unassign.")

    def validate_assignee(self, value):
        if value is None:
            return None
        user = get_user_model().objects.filter(username=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"No active user {value!r}.")
        return user


class _TriageView(APIView):
    permission_classes = [capability(Capability.TRIAGE)]
    input_serializer = TriageSerializer
    status_to = ""

    def post(self, request, alert_id: int):
        data = self._input(request)
        alert = alert_get(alert_id=alert_id)
        self.apply(alert, data, request.user)
        return Response(AlertDetailSerializer(_alert(alert_id)).data)

    def _input(self, request) -> dict:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def apply(self, alert, data, actor):
        alert_set_status(
            alert=alert,
            status=self.status_to,
            actor=actor,
            classification=data.get("classification", ""),
            comment=data.get("comment", ""),
        )


def _triage_view(name: str, status_to: str, input_serializer, summary: str):
    view = type(name, (_TriageView,), {"status_to": status_to, "input_serializer": input_serializer})
    view.post = extend_schema(summary=summary, request=input_serializer, responses=AlertDetailSerializer)(view.post)
    return view


AlertStartView = _triage_view("AlertStartView", "in_progress", TriageSerializer, "Start working on an alert")
AlertResolveView = _triage_view(
    "AlertResolveView", "resolved", CloseSerializer, "Resolve an alert with a classification"
)
AlertDismissView = _triage_view("AlertDismissView", "dismissed", CloseSerializer, "Dismiss an alert (benign or false)")
AlertReopenView = _triage_view(
    "AlertReopenView", "in_progress", TriageSerializer, "Reopen a resolved or dismissed alert"
)


class AlertAssignView(_TriageView):
    input_serializer = AssignSerializer

    @extend_schema(
        summary="Assign an alert (or unassign it)", request=AssignSerializer, responses=AlertDetailSerializer
    )
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def apply(self, alert, data, actor):
        alert_assign(alert=alert, assignee=data["assignee"], actor=actor)


class BulkTriageSerializer(serializers.Serializer):
    # max_value: an id past the 64-bit range would overflow the database query (500) instead of a 400.
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=500
    )
    action = serializers.ChoiceField(choices=["start", "resolve", "dismiss", "reopen", "assign"])
    classification = serializers.ChoiceField(choices=CLASSIFICATIONS, required=False)
    assignee = serializers.CharField(allow_null=True, required=False, help_text="For assign: username or null.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkResultSerializer(serializers.Serializer):
    changed = serializers.ListField(child=serializers.IntegerField())
    skipped = serializers.DictField(child=serializers.CharField(), help_text="Alert id: why it was left alone.")


class AlertBulkTriageView(APIView):
    permission_classes = [capability(Capability.TRIAGE)]
    statuses = {"start": "in_progress", "resolve": "resolved", "dismiss": "dismissed", "reopen": "in_progress"}

    @extend_schema(summary="Triage many alerts at once", request=BulkTriageSerializer, responses=BulkResultSerializer)
    def post(self, request):
        serializer = BulkTriageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["action"] == "assign":
            assignee = AssignSerializer(data={"assignee": data.get("assignee")})
            assignee.is_valid(raise_exception=True)
            result = alert_bulk_assign(
                alert_ids=data["ids"], assignee=assignee.validated_data["assignee"], actor=request.user
            )
        else:
            result = alert_bulk_set_status(
                alert_ids=data["ids"],
                status=self.statuses[data["action"]],
                actor=request.user,
                classification=data.get("classification", ""),
                comment=data["comment"],
            )
        return Response({"changed": result.changed, "skipped": {str(k): v for k, v in result.skipped.items()}})

"""API shapes of investigations and actions (DESIGN.md's public contract: keep the field names)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from investigations.models import Action, Finding, Investigation, InvestigationStep
from investigations.selectors.actions import action_sla


class ActionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Action
        fields = ["id", "kind", "status", "target"]


class FindingSerializer(serializers.ModelSerializer):
    events = serializers.SerializerMethodField(help_text="Ids of the events the finding rests on.")

    class Meta:
        model = Finding
        fields = ["id", "check_key", "title", "verdict", "explanation", "data", "events"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_events(self, finding) -> list[int]:
        return [event.pk for event in finding.events.all()]


class InvestigationSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="identity.upn", read_only=True)
    alerts = serializers.SerializerMethodField()
    actions = ActionBriefSerializer(many=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)

    class Meta:
        model = Investigation
        fields = [
            "id",
            "user",
            "playbook",
            "status",
            "verdict",
            "verdict_rule",
            "alerts",
            "actions",
            "started_at",
            "finished_at",
            "risk_score",
            "summary",
            "findings",
            "reason",
            "automation_level",
            "created_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_alerts(self, investigation) -> list[int]:
        return [alert.pk for alert in investigation.alerts.all()]


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvestigationStep
        fields = ["at", "level", "message"]


class RelatedSerializer(serializers.Serializer):
    user = serializers.CharField(source="identity.upn")
    reasons = serializers.ListField(child=serializers.CharField())
    investigation = serializers.IntegerField(source="investigation_id", allow_null=True)


class InvestigationDetailSerializer(InvestigationSerializer):
    steps = StepSerializer(many=True, read_only=True)
    related = RelatedSerializer(many=True, read_only=True, source="related_identities")
    window_start = serializers.DateTimeField(read_only=True)
    window_end = serializers.DateTimeField(read_only=True)

    class Meta(InvestigationSerializer.Meta):
        fields = [*InvestigationSerializer.Meta.fields, "window_start", "window_end", "steps", "related"]


class InvestigationStartSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=320, help_text="The UPN of a monitored identity.")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ActionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="identity.upn", read_only=True)
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    second_approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rejected_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    age_seconds = serializers.SerializerMethodField(help_text="How long it has waited for approval (pending only).")
    overdue = serializers.SerializerMethodField(help_text="Waiting longer than the action SLA.")

    class Meta:
        model = Action
        fields = [
            "id",
            "investigation",
            "user",
            "kind",
            "target",
            "status",
            "impact",
            "parameters",
            "reason",
            "requires_second_approval",
            "automated",
            "proposed_by",
            "approved_by",
            "approved_at",
            "second_approved_by",
            "second_approved_at",
            "rejected_by",
            "rejected_at",
            "decision_comment",
            "second_approval_comment",
            "attempts",
            "connector",
            "result",
            "error",
            "undo_of",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
            "age_seconds",
            "overdue",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age_seconds(self, action) -> int | None:
        sla = action_sla(action)
        return int(sla.age.total_seconds()) if sla else None

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, action) -> bool:
        sla = action_sla(action)
        return bool(sla and sla.overdue)

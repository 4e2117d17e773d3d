"""Investigations and actions over the API: each view guards, calls one service or selector, answers."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from airportal.api.permissions import capability
from airportal.roles import Capability
from investigations.api.serializers import (
    ActionSerializer,
    CommentSerializer,
    InvestigationDetailSerializer,
    InvestigationSerializer,
    InvestigationStartSerializer,
    ReasonSerializer,
)
from investigations.selectors.actions import action_get
from investigations.selectors.investigations import (
    InvestigationFilters,
    investigation_detail_get,
    investigation_list,
    investigation_related_identities,
)
from investigations.services.actions import action_approve, action_reject, action_undo
from investigations.services.investigations import investigation_start, investigation_terminate


def _detail(investigation_id: int) -> dict:
    investigation = investigation_detail_get(investigation_id=investigation_id)
    investigation.related_identities = investigation_related_identities(investigation=investigation)
    return InvestigationDetailSerializer(investigation).data


class InvestigationListView(generics.ListAPIView):
    """``GET``: investigations, newest first (``?user=<upn>``, ``?status=``). ``POST``: start one by hand."""

    serializer_class = InvestigationSerializer

    def get_permissions(self):
        cap = Capability.TRIAGE if self.request.method == "POST" else Capability.VIEW
        return [capability(cap)()]

    def get_queryset(self):
        params = self.request.query_params
        return investigation_list(
            filters=InvestigationFilters(user=params.get("user", ""), status=params.get("status", ""))
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("user", str, description="UPN of the identity (any case)."),
            OpenApiParameter(
                "status", str, enum=[value for value, _ in InvestigationSerializer.Meta.model.Status.choices]
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InvestigationStartSerializer,
        responses={201: InvestigationDetailSerializer, 200: InvestigationDetailSerializer},
        description="Start an investigation on a monitored identity. If one is already open, it runs again "
        "and is returned with 200.",
    )
    def post(self, request):
        payload = InvestigationStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        investigation, created = investigation_start(
            upn=payload.validated_data["user"], user=request.user, reason=payload.validated_data["reason"]
        )
        return Response(_detail(investigation.pk), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class InvestigationDetailView(APIView):
    permission_classes = [capability(Capability.VIEW)]

    @extend_schema(responses=InvestigationDetailSerializer)
    def get(self, request, investigation_id: int):
        return Response(_detail(investigation_id))


class InvestigationTerminateView(APIView):
    permission_classes = [capability(Capability.TRIAGE)]

    @extend_schema(request=ReasonSerializer, responses=InvestigationDetailSerializer)
    def post(self, request, investigation_id: int):
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        investigation_terminate(
            investigation_id=investigation_id, user=request.user, reason=payload.validated_data["reason"]
        )
        return Response(_detail(investigation_id))


class ActionDetailView(APIView):
    permission_classes = [capability(Capability.VIEW)]

    @extend_schema(responses=ActionSerializer)
    def get(self, request, action_id: int):
        return Response(ActionSerializer(action_get(action_id=action_id)).data)


class _ActionDecisionView(APIView):
    permission_classes = [capability(Capability.TRIAGE)]
    success_status = status.HTTP_200_OK

    def decide(self, request, action_id: int, comment: str):
        raise NotImplementedError

    @extend_schema(request=CommentSerializer, responses=ActionSerializer)
    def post(self, request, action_id: int):
        payload = CommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        action = self.decide(request, action_id, payload.validated_data["comment"])
        return Response(ActionSerializer(action_get(action_id=action.pk)).data, status=self.success_status)


class ActionApproveView(_ActionDecisionView):
    """Approve (for four-eyes kinds, the first call is the first of two approvals by different people)."""

    def decide(self, request, action_id, comment):
        return action_approve(action_id=action_id, user=request.user, comment=comment)


class ActionRejectView(_ActionDecisionView):
    """Reject; a comment saying why is required."""

    def decide(self, request, action_id, comment):
        return action_reject(action_id=action_id, user=request.user, comment=comment)


class ActionUndoView(_ActionDecisionView):
    """Undo a succeeded reversible action; answers the new undo action (201)."""

    success_status = status.HTTP_201_CREATED

    def decide(self, request, action_id, comment):
        return action_undo(action_id=action_id, user=request.user, comment=comment)

"""Remediation on the user's timeline: each succeeded action becomes an Event of kind ``remediation``."""

from django.utils import timezone

from alerts.models import Event
from investigations.models import Action

TIMELINE_SOURCE = "airportal"


def remediation_event_record(*, action: Action, detail: str) -> Event:
    """One ``remediation`` event per action, written by the one transition to ``succeeded``.

    The one transition to ``succeeded`` (a conditional UPDATE) calls it once per action.
    """
    return Event.objects.create(
        source=TIMELINE_SOURCE,
        source_record_id=f"action-{action.pk}",
        identity_id=action.identity_id,
        occurred_at=timezone.now(),
        kind=Event.Kind.REMEDIATION,
        operation=f"undo_{action.kind}" if action.undo_of_id else action.kind,
        target=action.target[:512],
        subject=detail[:512],
        succeeded=True,
        attributes={
            "action_id": action.pk,
            "investigation_id": action.investigation_id,
            "undo_of": action.undo_of_id,
            "connector": action.connector,
        },
    )

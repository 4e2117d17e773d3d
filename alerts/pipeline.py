"""The seam between ingestion and detection.

Ingest calls ``events_ingested`` once per committed batch; detection decides what to run.
"""

from collections import defaultdict

from django.conf import settings

from alerts.detection import detect_events
from alerts.models import Event
from alerts.tasks import detect_events_task


def events_ingested(*, event_ids: list[int], inline: bool) -> None:
    """Hand newly stored events to detection.

    ``inline=True`` (``manage.py ingest``) runs detection, correlation and the playbook before
    returning; otherwise one Celery task per batch of identities is dispatched after commit. An
    identity's events always travel in the same task, so its window is judged in one piece.
    """
    if not event_ids:
        return
    if inline:
        detect_events(event_ids=list(event_ids), inline=True)
        return
    for batch in batches_by_identity(event_ids, size=settings.DETECTION_BATCH_EVENTS):
        detect_events_task.delay_on_commit(event_ids=batch)


def batches_by_identity(event_ids: list[int], *, size: int) -> list[list[int]]:
    """Event ids grouped by identity, then packed into batches of about ``size`` events (one query)."""
    by_identity: dict[int, list[int]] = defaultdict(list)
    for pk, identity_id in Event.objects.filter(pk__in=list(event_ids)).values_list("pk", "identity_id"):
        by_identity[identity_id].append(pk)
    batches: list[list[int]] = []
    current: list[int] = []
    for identity_id in sorted(by_identity):
        if current and len(current) + len(by_identity[identity_id]) > size:
            batches.append(current)
            current = []
        current.extend(by_identity[identity_id])
    if current:
        batches.append(current)
    return batches

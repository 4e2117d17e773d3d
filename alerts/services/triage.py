"""Alert triage: assign, start, resolve, dismiss, reopen. Each change is one conditional UPDATE.

The allowed moves are in ``TRANSITIONS``. A change applies only if the alert is still in the
status the analyst saw (``filter(pk=…, status=FROM).update(…) == 1``), so a double click or two
analysts at once cannot both win; the loser gets a ``Conflict`` naming the current status.
``acknowledged_at`` is set by the first triage and never moved; ``closed_at`` by resolve or
dismiss and cleared by reopen.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from airportal.audit import audit_record
from airportal.errors import Conflict, DomainError, NotFound
from airportal.roles import Capability, has_capability
from alerts.models import Alert

Status = Alert.Status
Classification = Alert.Classification
OPEN = (Status.NEW, Status.IN_PROGRESS)
CLOSED = (Status.RESOLVED, Status.DISMISSED)
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.DISMISSED}),
    Status.IN_PROGRESS: frozenset({Status.NEW, Status.RESOLVED, Status.DISMISSED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS}),
    Status.DISMISSED: frozenset({Status.IN_PROGRESS}),
}
CLASSIFICATIONS_FOR = {
    Status.RESOLVED: frozenset(
        {Classification.TRUE_POSITIVE, Classification.BENIGN_POSITIVE, Classification.FALSE_POSITIVE}
    ),
    Status.DISMISSED: frozenset({Classification.BENIGN_POSITIVE, Classification.FALSE_POSITIVE}),
}
VERBS = {
    Status.IN_PROGRESS: "started",
    Status.NEW: "returned",
    Status.RESOLVED: "resolved",
    Status.DISMISSED: "dismissed",
}


def _check(alert: Alert, status: str, classification: str) -> None:
    if status not in Status.values:
        raise DomainError(f"Status must be one of {', '.join(Status.values)}.")
    if status == alert.status:
        raise Conflict(f"The alert is already {alert.get_status_display().lower()}.")
    if status not in TRANSITIONS[alert.status]:
        raise Conflict(
            f"A {alert.get_status_display().lower()} alert cannot become {Status(status).label.lower()}; "
            "reopen it first."
        )
    allowed = CLASSIFICATIONS_FOR.get(status)
    if allowed is not None and classification not in allowed:
        choices = ", ".join(sorted(allowed))
        raise DomainError(
            f"Say what it was: a {Status(status).label.lower()} alert needs a classification ({choices})."
        )
    if allowed is None and classification:
        raise DomainError("A classification is given only when resolving or dismissing.")


@transaction.atomic
def alert_set_status(*, alert: Alert, status: str, actor, classification: str = "", comment: str = "") -> Alert:
    """Move the alert to ``status`` (resolve/dismiss need a classification; reopening clears it)."""
    _check(alert, status, classification)
    now = timezone.now()
    closing = status in CLOSED
    updated = Alert.objects.filter(pk=alert.pk, status=alert.status).update(
        status=status,
        classification=classification if closing else "",
        acknowledged_at=Coalesce(F("acknowledged_at"), Value(now)),
        closed_at=now if closing else None,
        updated_at=now,
    )
    if updated != 1:
        current = Alert.objects.filter(pk=alert.pk).values_list("status", flat=True).first()
        if current is None:
            raise NotFound("This alert no longer exists.")
        raise Conflict(f"Someone else changed this alert meanwhile: it is now {Status(current).label.lower()}.")
    before = {"status": alert.status, "classification": alert.classification}
    alert.refresh_from_db()
    audit_record(
        actor=actor,
        verb=f"alert.{VERBS[status]}",
        target=alert,
        summary=f"{VERBS[status].capitalize()} alert {alert.pk}"
        + (f" as {classification}" if closing else "")
        + (f": {comment[:500]}" if comment else ""),
        changes={
            "before": before,
            "after": {"status": alert.status, "classification": alert.classification},
            "comment": comment[:2000],
        },
    )
    return alert


@transaction.atomic
def alert_assign(*, alert: Alert, assignee, actor) -> Alert:
    """Give the alert to ``assignee`` (None: nobody). Assigning a new alert starts it."""
    if assignee is not None and not has_capability(assignee, Capability.TRIAGE):
        raise DomainError(f"{assignee.get_username()} cannot triage alerts, so cannot be assigned one.")
    if alert.status in CLOSED:
        raise Conflict(f"The alert is {alert.get_status_display().lower()}; reopen it to assign it.")
    if alert.assignee_id == (assignee.pk if assignee else None):
        return alert
    now = timezone.now()
    changes = {"assignee": assignee, "updated_at": now}
    if assignee is not None:
        changes["status"] = Case(When(status=Status.NEW, then=Value(Status.IN_PROGRESS)), default=F("status"))
        changes["acknowledged_at"] = Coalesce(F("acknowledged_at"), Value(now))
    updated = Alert.objects.filter(pk=alert.pk, status__in=OPEN, assignee_id=alert.assignee_id).update(**changes)
    if updated != 1:
        raise Conflict("Someone else changed this alert meanwhile; reload it.")
    before = alert.assignee.get_username() if alert.assignee else None
    alert.refresh_from_db()
    after = assignee.get_username() if assignee else None
    audit_record(
        actor=actor,
        verb="alert.assigned",
        target=alert,
        summary=f"Assigned alert {alert.pk} to {after or 'nobody'}",
        changes={"before": {"assignee": before}, "after": {"assignee": after, "status": alert.status}},
    )
    return alert


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def _bulk(alert_ids: list[int], apply) -> BulkResult:
    """Apply to each alert on its own savepoint; an alert that cannot move is reported, not fatal."""
    result = BulkResult()
    alerts = Alert.objects.select_related("assignee").in_bulk(list(alert_ids))
    with transaction.atomic():
        for alert_id in dict.fromkeys(alert_ids):
            alert = alerts.get(alert_id)
            if alert is None:
                result.skipped[alert_id] = "No such alert."
                continue
            try:
                with transaction.atomic():
                    apply(alert)
                result.changed.append(alert_id)
            except DomainError as error:
                result.skipped[alert_id] = error.message
    return result


def alert_bulk_set_status(
    *, alert_ids: list[int], status: str, actor, classification: str = "", comment: str = ""
) -> BulkResult:
    return _bulk(
        alert_ids,
        lambda alert: alert_set_status(
            alert=alert, status=status, actor=actor, classification=classification, comment=comment
        ),
    )


def alert_bulk_assign(*, alert_ids: list[int], assignee, actor) -> BulkResult:
    return _bulk(alert_ids, lambda alert: alert_assign(alert=alert, assignee=assignee, actor=actor))

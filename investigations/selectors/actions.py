"""Actions: one action, the pending queue with its SLA, the decided history."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from airportal.errors import NotFound
from airportal.keyset import Page, SortKey, keyset_page
from airportal.services import portal_settings_get
from investigations.models import Action, Investigation
from investigations.services.actions import action_needs_four_eyes

OLDEST = (SortKey("created_at", False, datetime), SortKey("id", False, int))
HISTORY_KEYS = (SortKey("id", True, int),)
DECIDED_STATUSES = [s for s in Action.Status.values if s != Action.Status.PENDING_APPROVAL]


@dataclass(frozen=True)
class ActionSla:
    """How long a pending action has waited against the SLA (``PortalSettings.action_sla_minutes``)."""

    age: timedelta
    due_at: datetime
    overdue: bool


def action_sla(action: Action, *, now: datetime | None = None, sla_minutes: int | None = None) -> ActionSla | None:
    """The SLA of an action waiting for approval; None once it is decided (the clock has stopped)."""
    if action.status != Action.Status.PENDING_APPROVAL:
        return None
    now = now or timezone.now()
    if sla_minutes is None:
        sla_minutes = portal_settings_get().action_sla_minutes
    due_at = action.created_at + timedelta(minutes=sla_minutes)
    return ActionSla(age=now - action.created_at, due_at=due_at, overdue=now > due_at)


def _actions() -> QuerySet:
    # Only the joins the rows show: each extra join costs the planner more than it saves.
    # ``undone_by`` (the reverse one-to-one) is a join on a unique index: has it been undone?
    return Action.objects.select_related(
        "identity", "approved_by", "second_approved_by", "rejected_by", "undone_by"
    ).defer("parameters", "undone_by__parameters", "undone_by__result")


def actions_annotate(actions: list[Action], *, now: datetime | None = None) -> list[Action]:
    """Mark each action with what its row shows.

    ``sla`` (an ``ActionSla`` while pending); ``needs_four_eyes`` as the approval service
    decides it (flagged when proposed, or its kind is in the four-eyes setting now);
    ``can_undo`` as ``action_undo`` accepts it.
    """
    settings = portal_settings_get()
    four_eyes, sla_minutes = set(settings.four_eyes_action_kinds), settings.action_sla_minutes
    for action in actions:
        action.has_undo = hasattr(action, "undone_by")  # select_related caches a missing one as absent
        action.sla = action_sla(action, now=now, sla_minutes=sla_minutes)
        action.needs_four_eyes = action_needs_four_eyes(action, four_eyes_kinds=four_eyes)
        action.can_undo = (
            action.status == Action.Status.SUCCEEDED
            and action.kind in Action.REVERSIBLE_KINDS
            and not action.is_undo
            and not action.has_undo
        )
    return actions


def action_get(*, action_id: int) -> Action:
    """One action with everything its page, its row and the API show."""
    action = _actions().select_related("undo_of", "proposed_by").defer(None).filter(pk=action_id).first()
    if action is None:
        raise NotFound(f"There is no action #{action_id}.")
    return actions_annotate([action])[0]


def investigation_actions(*, investigation: Investigation) -> list[Action]:
    return actions_annotate(list(_actions().filter(investigation=investigation).order_by("created_at", "id")))


def actions_pending(
    *,
    kind: str = "",
    overdue_only: bool = False,
    now: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Actions waiting for a person, oldest first (the SLA clock runs from their proposal).

    ``overdue_only`` keeps those past the SLA at ``now``: the ones to flag.
    """
    now = now or timezone.now()
    actions = _actions().filter(status=Action.Status.PENDING_APPROVAL)
    if kind:
        actions = actions.filter(kind=kind)
    if overdue_only:
        actions = actions.filter(created_at__lt=now - timedelta(minutes=portal_settings_get().action_sla_minutes))
    page = keyset_page(actions, keys=OLDEST, cursor=cursor, limit=limit)
    actions_annotate(page.rows, now=now)
    return page


def actions_pending_count() -> int:
    return Action.objects.filter(status=Action.Status.PENDING_APPROVAL).count()


def actions_pending_kinds() -> list[tuple[str, str, int]]:
    """(kind, label, count) of pending actions, for the bulk-approve groups."""
    labels = dict(Action.Kind.choices)
    rows = (
        Action.objects.filter(status=Action.Status.PENDING_APPROVAL)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    return [(kind, labels.get(kind, kind), n) for kind, n in rows]


@dataclass(frozen=True)
class ActionFilters:
    kind: str = ""
    status: str = ""
    decided_by: str = ""
    user: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _history(filters: ActionFilters) -> QuerySet:
    actions = _actions().filter(status__in=DECIDED_STATUSES)
    if filters.kind:
        actions = actions.filter(kind=filters.kind)
    if filters.status:
        actions = actions.filter(status=filters.status)
    if filters.user:
        actions = actions.filter(identity__upn=filters.user.strip().lower())
    if filters.decided_by:
        name = filters.decided_by.strip()
        actions = actions.filter(
            Q(approved_by__username=name) | Q(second_approved_by__username=name) | Q(rejected_by__username=name)
        )
    if filters.since:
        actions = actions.filter(created_at__gte=filters.since)
    if filters.until:
        actions = actions.filter(created_at__lt=filters.until)
    return actions


def actions_history(*, filters: ActionFilters, cursor: str | None = None, limit: int = 50) -> Page:
    """Decided actions, most recently proposed first (the primary key order: one index)."""
    return keyset_page(_history(filters), keys=HISTORY_KEYS, cursor=cursor, limit=limit)


def actions_history_export(*, filters: ActionFilters):
    """Every matching decided action, streamed (for the CSV export)."""
    return _history(filters).order_by("-id").iterator(chunk_size=1000)

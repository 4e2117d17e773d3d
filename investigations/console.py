"""Reads behind the investigation pages, the action center and the dashboard's widgets.

Each function is a fixed number of queries whatever the number of rows (counts come from
subqueries, related rows from ``select_related``/``prefetch_related``), and long lists page
with a keyset cursor. The ``*_hook`` functions feed ``alerts.console_hooks``.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from airportal.keyset import Page, SortKey, keyset_page
from airportal.services import portal_settings_get
from alerts.console_hooks import hooks
from alerts.models import Alert, Event
from investigations.models import Action, Finding, Investigation, InvestigationStep
from investigations.selectors import action_sla
from investigations.services.actions import action_needs_four_eyes

NEWEST = (SortKey("created_at", True, datetime), SortKey("id", True, int))
HISTORY_KEYS = (SortKey("id", True, int),)
ACTIVE_ACTION_STATUSES = (Action.Status.APPROVED, Action.Status.RUNNING)
DECIDED_STATUSES = [s for s in Action.Status.values if s != Action.Status.PENDING_APPROVAL]


def _count(model, *, filters: Q | None = None, field: str = "investigation") -> Subquery:
    """A correlated COUNT(*) subquery, so a list's counts cost no extra query and no row fan-out."""
    rows = model.objects.filter(**{field: OuterRef("pk")})
    if filters is not None:
        rows = rows.filter(filters)
    counted = rows.order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- Investigations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvestigationFilters:
    status: str = ""  # "", "open" or a status value
    verdict: str = ""
    user: str = ""


def investigation_list(*, filters: InvestigationFilters, cursor: str | None = None, limit: int = 50) -> Page:
    investigations = Investigation.objects.select_related("identity").annotate(
        alert_count=_count(Investigation.alerts.through),
        pending_count=_count(Action, filters=Q(status=Action.Status.PENDING_APPROVAL)),
        action_count=_count(Action),
    )
    if filters.status == "open":
        investigations = investigations.filter(status__in=Investigation.OPEN_STATUSES)
    elif filters.status:
        investigations = investigations.filter(status=filters.status)
    if filters.verdict:
        investigations = investigations.filter(verdict=filters.verdict)
    if filters.user:
        investigations = investigations.filter(identity__upn=filters.user.strip().lower())
    return keyset_page(investigations, keys=NEWEST, cursor=cursor, limit=limit)


def investigation_get(*, investigation_id: int) -> Investigation:
    return (
        Investigation.objects.select_related("identity", "started_by")
        .annotate(
            alert_count=_count(Investigation.alerts.through),
            finding_count=_count(Finding),
            step_count=_count(InvestigationStep),
            pending_count=_count(Action, filters=Q(status=Action.Status.PENDING_APPROVAL)),
            action_count=_count(Action),
        )
        .get(pk=investigation_id)
    )


def investigation_last_step(*, investigation: Investigation) -> InvestigationStep | None:
    return investigation.steps.order_by("-at", "-id").first()


def investigation_alerts(*, investigation: Investigation) -> list[Alert]:
    return list(investigation.alerts.select_related("assignee").defer("evidence").order_by("-created_at", "-id"))


def investigation_findings(*, investigation: Investigation, events_per_finding: int = 50) -> list[Finding]:
    """Findings, most serious first, each with the events it rests on (raw records left out)."""
    # A sliced Prefetch: at most ``events_per_finding`` events each, still one query.
    events = Event.objects.defer("raw", "attributes").order_by("occurred_at", "id")[:events_per_finding]
    findings = list(
        investigation.findings.prefetch_related(Prefetch("events", queryset=events, to_attr="evidence"))
        .annotate(event_count=Count("events"))
        .order_by("id")
    )
    rank = {Finding.Verdict.MALICIOUS: 0, Finding.Verdict.SUSPICIOUS: 1, Finding.Verdict.ERROR: 2}
    findings.sort(key=lambda finding: (rank.get(finding.verdict, 3), finding.id))
    return findings


def investigation_steps(*, investigation: Investigation) -> QuerySet:
    return investigation.steps.order_by("at", "id")


def investigation_counts_by_status() -> dict[str, int]:
    counts = dict.fromkeys(Investigation.Status.values, 0)
    counts.update(dict(Investigation.objects.values_list("status").annotate(n=Count("id")).order_by()))
    return counts


# --- Actions ------------------------------------------------------------------------------------


def _actions() -> QuerySet:
    # Only the joins the rows show: each extra join costs the planner more than it saves.
    # ``undone_by`` (the reverse one-to-one) is a join on a unique index: has it been undone?
    return Action.objects.select_related(
        "identity", "approved_by", "second_approved_by", "rejected_by", "undone_by"
    ).defer("parameters", "undone_by__parameters", "undone_by__result")


def actions_annotate(actions: list[Action]) -> list[Action]:
    """Mark each action with what its row shows.

    ``needs_four_eyes`` as the approval service decides it (flagged when proposed, or its kind
    is in the four-eyes setting now); ``can_undo`` as ``action_undo`` accepts it.
    """
    settings = portal_settings_get()
    four_eyes, sla_minutes = set(settings.four_eyes_action_kinds), settings.action_sla_minutes
    for action in actions:
        action.has_undo = hasattr(action, "undone_by")  # select_related caches a missing one as absent
        action.sla = action_sla(action, sla_minutes=sla_minutes)
        action.needs_four_eyes = action_needs_four_eyes(action, four_eyes_kinds=four_eyes)
        action.can_undo = (
            action.status == Action.Status.SUCCEEDED
            and action.kind in Action.REVERSIBLE_KINDS
            and not action.is_undo
            and not action.has_undo
        )
    return actions


def investigation_actions(*, investigation: Investigation) -> list[Action]:
    actions = list(_actions().filter(investigation=investigation).order_by("created_at", "id"))
    return actions_annotate(actions)


def action_get(*, action_id: int) -> Action:
    action = _actions().get(pk=action_id)
    return actions_annotate([action])[0]


@dataclass(frozen=True)
class ActionFilters:
    kind: str = ""
    status: str = ""
    decided_by: str = ""
    user: str = ""
    since: datetime | None = None
    until: datetime | None = None


OLDEST = (SortKey("created_at", False, datetime), SortKey("id", False, int))


def actions_pending(*, kind: str = "", cursor: str | None = None, limit: int = 50) -> Page:
    """Actions waiting for a person, oldest first (the SLA clock runs from their proposal)."""
    actions = _actions().filter(status=Action.Status.PENDING_APPROVAL)
    if kind:
        actions = actions.filter(kind=kind)
    page = keyset_page(actions, keys=OLDEST, cursor=cursor, limit=limit)
    actions_annotate(page.rows)
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


# --- Hooks for the alert console (see alerts.console_hooks) ------------------------------------


def _summary(investigation: Investigation | dict) -> dict:
    get = investigation.get if isinstance(investigation, dict) else lambda name: getattr(investigation, name)
    status, verdict = get("status"), get("verdict")
    return {
        "id": get("id"),
        "status": status,
        "status_label": Investigation.Status(status).label,
        "verdict": verdict,
        "verdict_label": Investigation.Verdict(verdict).label if verdict else "",
        "risk_score": get("risk_score"),
        "url": reverse("investigations:investigation_detail", args=[get("id")]),
    }


def finding_event_ids_hook(event_ids: list[int]) -> set[int]:
    through = Finding.events.through.objects.filter(event_id__in=event_ids)
    return set(through.values_list("event_id", flat=True).distinct())


def alert_investigations_hook(alert_ids: list[int]) -> dict[int, dict]:
    """Each alert's latest investigation, in one query."""
    if not alert_ids:
        return {}
    rows = (
        Investigation.alerts.through.objects.filter(alert_id__in=alert_ids)
        .order_by("alert_id", "investigation_id")
        .values(
            "alert_id",
            "investigation_id",
            "investigation__status",
            "investigation__verdict",
            "investigation__risk_score",
        )
    )
    found = {}
    for row in rows:  # later investigations overwrite earlier ones
        found[row["alert_id"]] = _summary(
            {
                "id": row["investigation_id"],
                "status": row["investigation__status"],
                "verdict": row["investigation__verdict"],
                "risk_score": row["investigation__risk_score"],
            }
        )
    return found


def identity_investigation_hook(identity_id: int) -> dict:
    """The identity's latest investigation, and whether it is open (one query).

    At most one investigation per identity is open, and none starts while it is, so an open
    one is always the latest.
    """
    latest = (
        Investigation.objects.filter(identity_id=identity_id)
        .order_by("-created_at", "-id")
        .values("id", "status", "verdict", "risk_score")
        .first()
    )
    return {
        "open": _summary(latest) if latest and latest["status"] in Investigation.OPEN_STATUSES else None,
        "latest": _summary(latest) if latest else None,
        "start_url": reverse("investigations:investigation_start"),
    }


def console_hooks_install() -> None:
    """Let the alert console link to investigations and mark finding evidence (AppConfig.ready)."""
    hooks.finding_event_ids = finding_event_ids_hook
    hooks.alert_investigations = alert_investigations_hook
    hooks.identity_investigation = identity_investigation_hook

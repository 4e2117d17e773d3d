"""Reads shared by the API, the console pages and reports: investigations, actions, SLA, pivots.

Every list here costs a constant number of queries whatever its length (prefetches, no
per-row lookups); tests pin the counts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from airportal.errors import NotFound
from airportal.services import portal_settings_get
from alerts.models import Alert, Event, Identity
from investigations.models import Action, Finding, Investigation

PIVOT_SLACK = timedelta(days=1)  # how far around the window other identities' sign-ins count


# --- Investigations --------------------------------------------------------------------------------


def investigation_queryset() -> QuerySet:
    """Investigations with everything the API shows: identity, alert ids, actions, findings and their event ids."""
    return Investigation.objects.select_related("identity").prefetch_related(
        Prefetch("alerts", queryset=Alert.objects.only("id").order_by("id")),
        Prefetch("actions", queryset=Action.objects.order_by("created_at", "id")),
        Prefetch(
            "findings",
            queryset=Finding.objects.order_by("id").prefetch_related(
                Prefetch("events", queryset=Event.objects.only("id").order_by("id"))
            ),
        ),
    )


def investigation_list(*, upn: str = "", status: str = "") -> QuerySet:
    """Newest first; ``upn`` (any case) narrows to one identity, ``status`` to one status."""
    investigations = investigation_queryset()
    if upn:
        investigations = investigations.filter(identity__upn=upn.strip().lower())
    if status:
        investigations = investigations.filter(status=status)
    return investigations.order_by("-id")


def investigation_get(*, investigation_id: int) -> Investigation:
    investigation = investigation_queryset().prefetch_related("steps").filter(pk=investigation_id).first()
    if investigation is None:
        raise NotFound(f"There is no investigation #{investigation_id}.")
    return investigation


@dataclass(frozen=True)
class RelatedIdentity:
    """Another identity linked to an investigation, why, and its latest investigation (to jump to)."""

    identity: Identity
    reasons: tuple[str, ...]
    investigation_id: int | None


def investigation_related_identities(*, investigation: Investigation) -> list[RelatedIdentity]:
    """Pivots: identities that signed in (or were tried) from the suspicious IPs, or received the phishing.

    The suspicious IPs are those of the flagged sign-in findings; the phishing recipients come
    from the blast-radius finding. Three queries.
    """
    ips: set[str] = set()
    phished: set[str] = set()
    for finding in Finding.objects.filter(
        investigation_id=investigation.pk, verdict__in=[Finding.Verdict.MALICIOUS, Finding.Verdict.SUSPICIOUS]
    ).only("check_key", "data"):
        if finding.check_key.startswith("signins."):
            ips.update(finding.data.get("ips", []))
        elif finding.check_key == "blast_radius":
            phished.update(finding.data.get("phishing_recipients", []))
    reasons: dict[int, list[str]] = {}
    if ips:
        start = (investigation.window_start or investigation.created_at) - PIVOT_SLACK
        end = (investigation.window_end or timezone.now()) + PIVOT_SLACK
        rows = (
            Event.objects.filter(
                kind__in=[Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED],
                ip__in=ips,
                occurred_at__gte=start,
                occurred_at__lte=end,
            )
            .exclude(identity_id=investigation.identity_id)
            .values_list("identity_id", "ip", "kind")
            .distinct()
            .order_by()
        )
        for identity_id, ip, kind in rows:
            verb = "signed in from" if kind == Event.Kind.SIGNIN else "was tried from"
            line = f"{verb} {ip}"
            if line not in reasons.setdefault(identity_id, []):
                reasons[identity_id].append(line)
    latest = Investigation.objects.filter(identity=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    if not reasons and not phished:
        return []
    found = Identity.objects.annotate(latest_investigation=Subquery(latest)).filter(
        Q(pk__in=list(reasons)) | Q(upn__in=phished)
    )
    related = []
    for identity in sorted(found, key=lambda i: i.upn):
        lines = list(reasons.get(identity.pk, []))
        if identity.upn in phished:
            lines.append("received the phishing mail")
        if identity.pk != investigation.identity_id:
            related.append(RelatedIdentity(identity, tuple(lines), identity.latest_investigation))
    return related


# --- Actions and their SLA -------------------------------------------------------------------------


def action_get(*, action_id: int) -> Action:
    action = (
        Action.objects.select_related(
            "identity", "undo_of", "proposed_by", "approved_by", "second_approved_by", "rejected_by"
        )
        .filter(pk=action_id)
        .first()
    )
    if action is None:
        raise NotFound(f"There is no action #{action_id}.")
    return action


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


def actions_pending(*, now: datetime | None = None, overdue_only: bool = False) -> list[Action]:
    """Actions waiting for approval, oldest first, each with ``.sla`` (an ``ActionSla``). Two queries."""
    now = now or timezone.now()
    sla_minutes = portal_settings_get().action_sla_minutes
    actions = Action.objects.filter(status=Action.Status.PENDING_APPROVAL).select_related("identity", "investigation")
    if overdue_only:
        actions = actions.filter(created_at__lt=now - timedelta(minutes=sla_minutes))
    result = list(actions.order_by("created_at", "id"))
    for action in result:
        action.sla = action_sla(action, now=now, sla_minutes=sla_minutes)
    return result


def actions_overdue(*, now: datetime | None = None) -> list[Action]:
    """Pending actions past their SLA: the ones to flag (and to notify about)."""
    return actions_pending(now=now, overdue_only=True)

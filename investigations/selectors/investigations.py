"""Investigations: the console's list and page, the API's list and detail, pivots, counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from airportal.errors import NotFound
from airportal.keyset import Page, SortKey, keyset_page
from alerts.models import Alert, Event, Identity
from investigations.models import Action, Finding, Investigation, InvestigationStep

NEWEST = (SortKey("created_at", True, datetime), SortKey("id", True, int))
PIVOT_SLACK = timedelta(days=1)  # how far around the window other identities' sign-ins count


def _count(model, *, filters: Q | None = None, field: str = "investigation") -> Subquery:
    """A correlated COUNT(*) subquery, so a list's counts cost no extra query and no row fan-out."""
    rows = model.objects.filter(**{field: OuterRef("pk")})
    if filters is not None:
        rows = rows.filter(filters)
    counted = rows.order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class InvestigationFilters:
    status: str = ""  # "", "open" (any open status) or a status value
    verdict: str = ""
    user: str = ""  # a UPN, any case


def _filtered(investigations: QuerySet, filters: InvestigationFilters) -> QuerySet:
    if filters.status == "open":
        investigations = investigations.filter(status__in=Investigation.OPEN_STATUSES)
    elif filters.status:
        investigations = investigations.filter(status=filters.status)
    if filters.verdict:
        investigations = investigations.filter(verdict=filters.verdict)
    if filters.user:
        investigations = investigations.filter(identity__upn=filters.user.strip().lower())
    return investigations


def investigation_page(*, filters: InvestigationFilters, cursor: str | None = None, limit: int = 50) -> Page:
    """The console's list: newest first, each row with its alert, pending and action counts."""
    investigations = Investigation.objects.select_related("identity").annotate(
        alert_count=_count(Investigation.alerts.through),
        pending_count=_count(Action, filters=Q(status=Action.Status.PENDING_APPROVAL)),
        action_count=_count(Action),
    )
    return keyset_page(_filtered(investigations, filters), keys=NEWEST, cursor=cursor, limit=limit)


def _with_evidence() -> QuerySet:
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


def investigation_list(*, filters: InvestigationFilters) -> QuerySet:
    """The API's list: newest first, each with its alert ids, actions and findings (paged by the caller)."""
    return _filtered(_with_evidence(), filters).order_by("-id")


def investigation_get(*, investigation_id: int) -> Investigation:
    """The investigation page's subject, with the counts its tabs show."""
    investigation = (
        Investigation.objects.select_related("identity", "started_by")
        .annotate(
            alert_count=_count(Investigation.alerts.through),
            finding_count=_count(Finding),
            step_count=_count(InvestigationStep),
            pending_count=_count(Action, filters=Q(status=Action.Status.PENDING_APPROVAL)),
            action_count=_count(Action),
        )
        .filter(pk=investigation_id)
        .first()
    )
    if investigation is None:
        raise NotFound(f"There is no investigation #{investigation_id}.")
    return investigation


def investigation_detail_get(*, investigation_id: int) -> Investigation:
    """The API's detail: alerts, findings with their events, actions and the step log."""
    investigation = _with_evidence().prefetch_related("steps").filter(pk=investigation_id).first()
    if investigation is None:
        raise NotFound(f"There is no investigation #{investigation_id}.")
    return investigation


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

"""Detection: run the enabled policies' detectors over one batch of stored events.

Per batch, whatever its size, the engine reads: the batch, the policies, the accepted domains,
the baselines (locked, then extended with the batch), one window of context events for the
identities the batch touches, the sign-ins of the IPs it signed in from when password spray is
checked, the actors it names, and the active suppressions. Detectors then work in memory, and
the batch's findings are raised or folded together (``alerts_raise``: a handful of statements
whatever their number). Re-running a batch is harmless: baselines are
idempotent and a repeat folds into the alert it already raised without new events.
"""

import ipaddress
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from alerts.activity.addresses import address_domain, domain_is_internal
from alerts.activity.changes import is_failed_change
from alerts.activity.fields import attr
from alerts.activity.signins import DEVICE_CODE, is_device_code, session_of, unfamiliar_network
from alerts.baselines import asn_key, baselines_update
from alerts.detectors.base import Detection, DetectionContext, Detector
from alerts.detectors.registry import DETECTORS, effective_parameters
from alerts.domains import TenantDomains, tenant_domains
from alerts.models import AlertPolicy, AlertSuppression, Event, Identity, IdentityBaseline
from alerts.services.raising import AlertRaise, alerts_raise

logger = logging.getLogger(__name__)
SIGNIN_KINDS = (Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED)


@dataclass
class DetectionResult:
    events: int = 0
    identities: int = 0
    findings: int = 0
    suppressed: int = 0
    alerts_created: int = 0
    alerts_folded: int = 0
    alert_ids: list[int] = field(default_factory=list)
    spans: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)  # identity -> event times


@dataclass(frozen=True)
class ActivePolicy:
    policy: AlertPolicy
    detector: Detector
    params: dict


def policies_active() -> list[ActivePolicy]:
    return [
        ActivePolicy(
            policy, DETECTORS[policy.detector], effective_parameters(DETECTORS[policy.detector], policy.parameters)
        )
        for policy in AlertPolicy.objects.filter(enabled=True).order_by("id")
        if policy.detector in DETECTORS
    ]


def detect_events(*, event_ids: list[int]) -> DetectionResult:
    """Judge the stored events ``event_ids``: update baselines, raise or fold alerts. One transaction."""
    result = DetectionResult()
    policies = policies_active()
    with transaction.atomic():
        events = list(
            Event.objects.filter(pk__in=event_ids).select_related("identity").defer("raw").order_by("occurred_at", "pk")
        )
        if not events:
            return result
        result.events = len(events)
        attributed = [event for event in events if event.identity_id is not None]
        result.identities = len({event.identity_id for event in attributed})
        for event in attributed:  # ordered by time: the first seen is the earliest
            first, _ = result.spans.get(event.identity_id, (event.occurred_at, None))
            result.spans[event.identity_id] = (first, event.occurred_at)
        domains = tenant_domains()

        def is_internal(address: str) -> bool:
            return domain_is_internal(address_domain(address), domains.domains)

        baselines = baselines_update(events=attributed, is_internal=is_internal)
        if not policies:
            return result
        ctx = context_load(events=events, policies=policies, baselines=baselines, domains=domains)
        findings = [
            (active, finding) for active in policies for finding in run_detector(active, ctx=ctx, events=events)
        ]
        result.findings = len(findings)
        suppressions = suppressions_active(policy_ids=[active.policy.pk for active in policies])
        hits: dict[int, int] = defaultdict(int)
        raises: list[AlertRaise] = []
        for active, finding in findings:
            identity = ctx.identities[finding.identity_id] if finding.identity_id is not None else None
            suppression = suppression_matching(suppressions.get(active.policy.pk, ()), identity, finding)
            if suppression is not None:
                hits[suppression.pk] += 1
                continue
            fold_window = timedelta(hours=active.params["fold_window_hours"])
            raises.append(AlertRaise(active.policy, identity, finding, fold_window, active.detector.title_for))
        for raised in alerts_raise(raises=raises):
            result.alert_ids.append(raised.alert.pk)
            if raised.created:
                result.alerts_created += 1
            elif raised.new_events:
                result.alerts_folded += 1
        result.suppressed = sum(hits.values())
        now = timezone.now()
        for pk, count in hits.items():
            AlertSuppression.objects.filter(pk=pk).update(hit_count=F("hit_count") + count, last_hit_at=now)
    return result


def _triggers(detector: Detector, events: list[Event]) -> dict[int | None, list[Event]]:
    """The detector's trigger events per identity; those about no user under ``None``, for the
    detectors that judge them."""
    by_identity: dict[int | None, list[Event]] = defaultdict(list)
    for event in events:
        if event.kind not in detector.trigger_kinds or is_failed_change(event):
            continue
        if event.identity_id is not None or detector.judges_unattributed:
            by_identity[event.identity_id].append(event)
    return by_identity


def run_detector(active: ActivePolicy, *, ctx: DetectionContext, events: list[Event]) -> list[Detection]:
    findings = [
        finding
        for identity_id, triggers in _triggers(active.detector, events).items()
        for finding in active.detector.detect(ctx, identity_id, triggers, active.params)
    ]
    findings.extend(active.detector.detect_network(ctx, events, active.params))
    return [finding for finding in findings if finding.events]


def context_load(
    *, events: list[Event], policies: list[ActivePolicy], baselines: dict, domains: TenantDomains
) -> DetectionContext:
    """What the detectors may look at for this batch, in a handful of queries."""
    identities = {event.identity_id: event.identity for event in events if event.identity_id is not None}
    needs: dict[str, tuple[set[int], timedelta]] = {}  # context kind -> (identities, span)
    for active in policies:
        if not active.detector.context_kinds:
            continue
        span = active.detector.context_span(active.params)
        for identity_id, triggers in _triggers(active.detector, events).items():
            for kind in active.detector.context_needs(baselines.get(identity_id), triggers, active.params):
                ids, widest = needs.get(kind, (set(), timedelta(0)))
                ids.add(identity_id)
                needs[kind] = (ids, max(widest, span))
    start = min(event.occurred_at for event in events)
    end = max(event.occurred_at for event in events)
    history: dict[int, list[Event]] = defaultdict(list)
    for kind, (ids, span) in sorted(needs.items()):
        rows = Event.objects.filter(
            identity_id__in=sorted(ids), kind=kind, occurred_at__gte=start - span, occurred_at__lte=end + span
        ).defer("raw")
        for event in rows.order_by():
            history[event.identity_id].append(event)
    for rows in history.values():
        rows.sort(key=lambda event: (event.occurred_at, event.pk))

    ctx = DetectionContext(
        identities=identities,
        history=dict(history),
        baselines=dict(baselines),
        accepted_domains=domains.domains,
        domains_configured=domains.configured,
    )
    _load_actors(ctx, events)
    signin_policy = next((a for a in policies if a.detector.key == "suspicious_signin"), None)
    if signin_policy is not None:
        params = signin_policy.params
        if params["check_password_spray"]:
            _load_spray_ips(ctx, events, params, start, end)
        if params["check_token_replay"]:
            _load_sessions(ctx, events, signin_policy.detector.context_span(params))
        if params["check_device_code"]:
            _load_device_codes(ctx, events, timedelta(days=params["device_code_habit_days"]), end)
    return ctx


def _load_actors(ctx: DetectionContext, events: list[Event]) -> None:
    actors = {
        str(event.attributes.get("actor") or "").lower() for event in events if isinstance(event.attributes, dict)
    }
    actors = {actor for actor in actors if "@" in actor}
    if not actors:
        return
    for identity in Identity.objects.filter(upn__in=sorted(actors)):
        ctx.identities.setdefault(identity.pk, identity)
        ctx.identity_ids_by_upn[identity.upn] = identity.pk


def _load_spray_ips(ctx: DetectionContext, events: list[Event], params: dict, start, end) -> None:
    """Sign-ins from the batch's IPs that saw failures for enough accounts; their identities and baselines."""
    window = timedelta(minutes=params["spray_window_minutes"])
    ips = sorted({event.ip for event in events if event.kind in SIGNIN_KINDS and event.ip})
    if not ips:
        return
    around = {"occurred_at__gte": start - window, "occurred_at__lte": end + window}
    busy = list(
        Event.objects.filter(ip__in=ips, kind=Event.Kind.SIGNIN_FAILED, **around)
        .values("ip")
        .annotate(accounts=Count("identity_id", distinct=True))
        .filter(accounts__gte=params["spray_min_accounts"])
        .values_list("ip", flat=True)
    )
    if not busy:
        return
    rows = (
        Event.objects.filter(ip__in=busy, kind__in=SIGNIN_KINDS, **around)
        .select_related("identity")
        .defer("raw")
        .order_by("occurred_at", "pk")
    )
    succeeded: set[int] = set()
    for event in rows:
        ctx.signins_by_ip.setdefault(event.ip, []).append(event)
        ctx.identities.setdefault(event.identity_id, event.identity)
        if event.kind == Event.Kind.SIGNIN:
            succeeded.add(event.identity_id)
    missing = succeeded - set(ctx.baselines)
    for baseline in IdentityBaseline.objects.filter(identity_id__in=sorted(missing)):
        ctx.baselines[baseline.identity_id] = baseline


def _load_sessions(ctx: DetectionContext, events: list[Event], span: timedelta) -> None:
    """The stored sign-ins, within ``span``, of the sessions of the batch's sign-ins from a network
    (range and autonomous system) new for the user: a replayed token comes from the intruder's
    network, so sessions continued where the user always works are not read."""
    by_identity: dict[int, set[str]] = defaultdict(set)
    for event in events:
        if event.kind == Event.Kind.SIGNIN and session_of(event) and _new_network(ctx, event):
            by_identity[event.identity_id].add(str(event.attributes["session_id"]))  # as stored
    if not by_identity:
        return
    located = [e.occurred_at for e in events if e.identity_id in by_identity and e.kind == Event.Kind.SIGNIN]
    sessions = sorted(set().union(*by_identity.values()))
    limit = connection.features.max_query_params  # None on PostgreSQL: one query
    step = len(sessions) if limit is None else max(1, limit - len(by_identity) - 4)
    for start in range(0, len(sessions), step):
        rows = Event.objects.filter(
            identity_id__in=sorted(by_identity),
            kind=Event.Kind.SIGNIN,
            occurred_at__gte=min(located) - span,
            occurred_at__lte=max(located) + span,
            attributes__session_id__in=sessions[start : start + step],
        ).defer("raw")
        for event in rows.order_by("occurred_at", "pk"):
            ctx.signins_by_session.setdefault(session_of(event), []).append(event)


def _new_network(ctx: DetectionContext, event: Event) -> bool:
    baseline = ctx.baselines.get(event.identity_id)
    return unfamiliar_network(event.ip, asn_key(event), baseline, before=event.occurred_at, min_history_days=0)


def _load_device_codes(ctx: DetectionContext, events: list[Event], habit: timedelta, end) -> None:
    """When the identities with a device-code sign-in in the batch used the device code before."""
    ids = sorted({event.identity_id for event in events if event.kind == Event.Kind.SIGNIN and is_device_code(event)})
    if not ids:
        return
    first = min(event.occurred_at for event in events if event.identity_id in ids)
    rows = (
        Event.objects.filter(
            identity_id__in=ids,
            kind=Event.Kind.SIGNIN,
            occurred_at__gte=first - habit,
            occurred_at__lte=end,
            attributes__authentication_protocol__iexact=DEVICE_CODE,
        )
        .exclude(succeeded=False)
        .values_list("identity_id", "occurred_at", "pk")
    )
    for identity_id, occurred_at, pk in rows:
        ctx.device_code_signins.setdefault(identity_id, []).append((occurred_at, pk))


# --- suppressions ------------------------------------------------------------------------------------


def suppressions_active(*, policy_ids: list[int]) -> dict[int, list[AlertSuppression]]:
    now = timezone.now()
    active: dict[int, list[AlertSuppression]] = defaultdict(list)
    for suppression in AlertSuppression.objects.filter(
        policy_id__in=policy_ids, ended_at__isnull=True, expires_at__gt=now
    ):
        active[suppression.policy_id].append(suppression)
    return active


def suppression_matching(suppressions, identity: Identity | None, finding: Detection) -> AlertSuppression | None:
    """The first suppression covering the finding: its identity, all its IPs, or its sender domain."""
    upn = identity.upn if identity is not None else ""
    for suppression in suppressions:
        value = suppression.value.lower()
        kind = suppression.kind
        if kind == AlertSuppression.Kind.IDENTITY and upn == value:
            return suppression
        if kind == AlertSuppression.Kind.IP_RANGE and finding.ips and all(_in(ip, value) for ip in finding.ips):
            return suppression
        if kind == AlertSuppression.Kind.SENDER_DOMAIN:
            senders = {upn} | {str(attr(e, "sender", default="")) for e in finding.events}
            if any(domain_is_internal(address_domain(sender), [value]) for sender in senders if sender):
                return suppression
    return None


def _in(ip: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False

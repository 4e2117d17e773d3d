"""Back-test by replay: the detector's own code over the stored events that could trigger it.

Used for detectors whose triggers are rare (rules, forwarding, permissions, consents, external
alerts) and, after an SQL pre-filter, for the sending detectors. Triggers are replayed per
identity in slices as long as the policy's fold window (what one alert can cover), and the
engine's own context loader supplies history, baselines and accepted domains.
"""

from collections import defaultdict
from datetime import datetime

from alerts.backtest.firings import Firing
from alerts.detection import ActivePolicy, context_load
from alerts.detectors.base import Detector
from alerts.domains import tenant_domains
from alerts.models import Event, IdentityBaseline


def trigger_events(detector: Detector, *, since: datetime, until: datetime) -> list[Event]:
    return list(
        Event.objects.filter(kind__in=sorted(detector.trigger_kinds), occurred_at__gte=since, occurred_at__lt=until)
        .select_related("identity")
        .defer("raw")
        .order_by("occurred_at", "id")
    )


def replay(detector: Detector, params_sets: list[dict], candidates: list[Event]) -> list[list[Firing]]:
    """Firings of ``detector`` under each parameter set, over the same candidates and context."""
    if not candidates:
        return [[] for _ in params_sets]
    identity_ids = {event.identity_id for event in candidates}
    baselines = {b.identity_id: b for b in IdentityBaseline.objects.filter(identity_id__in=sorted(identity_ids))}
    policies = [ActivePolicy(policy=None, detector=detector, params=params) for params in params_sets]
    ctx = context_load(events=candidates, policies=policies, baselines=baselines, domains=tenant_domains())
    results = []
    for params in params_sets:
        seconds = params["fold_window_hours"] * 3600
        slices: dict[tuple[int, int], list[Event]] = defaultdict(list)
        for event in candidates:
            slices[(event.identity_id, int(event.occurred_at.timestamp()) // seconds)].append(event)
        firings = [
            Firing.of(finding)
            for (identity_id, _), triggers in slices.items()
            for finding in detector.detect(ctx, identity_id, triggers, params)
        ]
        firings += [Firing.of(finding) for finding in detector.detect_network(ctx, candidates, params)]
        results.append(firings)
    return results


def replay_firings(detector: Detector, params_sets: list[dict], since: datetime, until: datetime) -> list[list[Firing]]:
    return replay(detector, params_sets, trigger_events(detector, since=since, until=until))

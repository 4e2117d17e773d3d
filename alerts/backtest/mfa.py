"""Back-test of ``mfa_method_changed``: MFA changes against the risky sign-ins before them.

Only the sign-ins that can make a change suspicious leave the database: those the source rated
risky (an SQL JSON filter) and, from the baselines, the first sign-in from each new country;
the change itself decides whether every method was removed.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from alerts.activity.signins import source_risk
from alerts.backtest.firings import Firing
from alerts.backtest.signin import SUCCESSFUL, new_country_moments, risk_prefilter
from alerts.detectors.base import Detector
from alerts.detectors.mfa_method_changed import removes_every_method
from alerts.models import Event


def mfa_firings(detector: Detector, params_sets: list[dict], since: datetime, until: datetime) -> list[list[Firing]]:
    changes = list(
        Event.objects.filter(kind=Event.Kind.MFA_METHOD_CHANGED, occurred_at__gte=since, occurred_at__lt=until)
        .only("id", "identity_id", "occurred_at", "attributes")
        .order_by("occurred_at", "id")
    )
    if not changes:
        return [[] for _ in params_sets]
    identity_ids = {change.identity_id for change in changes}
    widest = timedelta(hours=max(p["window_hours"] for p in params_sets))
    risky: dict[int, list[Event]] = defaultdict(list)
    for signin in (
        Event.objects.filter(SUCCESSFUL, identity_id__in=sorted(identity_ids))
        .filter(occurred_at__gte=since - widest, occurred_at__lt=until)
        .filter(risk_prefilter([level for p in params_sets for level in p["risk_levels"]]))
        .only("id", "identity_id", "occurred_at", "attributes")
    ):
        risky[signin.identity_id].append(signin)
    results = []
    for params in params_sets:
        window = timedelta(hours=params["window_hours"])
        needed = timedelta(days=params["new_country_min_history_days"])
        countries = {
            identity_id: [moment for moment, history in moments if history >= needed]
            for identity_id, moments in (
                new_country_moments(since=since - window, until=until, identity_ids=identity_ids).items()
                if params["new_country_counts"]
                else ()
            )
        }
        firings = []
        for change in changes:
            if params["alert_on_removal"] and removes_every_method(change):
                firings.append(Firing(change.identity_id, change.occurred_at, change.occurred_at))
                continue
            before = [
                signin.occurred_at
                for signin in risky.get(change.identity_id, ())
                if timedelta(0) <= change.occurred_at - signin.occurred_at <= window
                and source_risk(signin, levels=params["risk_levels"], event_types=params["risk_event_types"])
            ]
            before += [
                m for m in countries.get(change.identity_id, ()) if timedelta(0) <= change.occurred_at - m <= window
            ]
            if before:
                firings.append(Firing(change.identity_id, min(before), change.occurred_at))
        results.append(firings)
    return results

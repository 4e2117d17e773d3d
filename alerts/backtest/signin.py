"""Back-test of ``suspicious_signin``: each signal found in SQL, judged by the detector's own checks.

Sign-ins are most of the events, so nothing here walks them all in Python:
- impossible travel: a window function (LAG) pairs each located successful sign-in with the
  previous one; only pairs whose place changed leave the database, then ``impossible_travel``;
- new country: read from the baselines, which remember when each country was first seen;
- source risk and legacy protocols: a JSON pre-filter in SQL, then the detector's checks;
- password spray: failures grouped by IP and window bucket in SQL, then the detector's network
  pass over the few busy IPs.
"""

import math
from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Q, Window
from django.db.models.functions import Lag

from alerts.activity.access import granted_access, granted_access_q
from alerts.activity.signins import source_risk
from alerts.backtest.firings import Firing
from alerts.backtest.sql import EpochBucket
from alerts.baselines import signin_history_start
from alerts.detectors.base import DetectionContext, Detector
from alerts.detectors.suspicious_signin import impossible_travel, legacy_protocol
from alerts.models import Event, IdentityBaseline

MODERN_CLIENTS = ["Browser", "Mobile Apps and Desktop clients"]
SUCCESSFUL = Q(kind=Event.Kind.SIGNIN) & granted_access_q()  # as the detector counts access
PREVIOUS = ("occurred_at", "ip", "latitude", "longitude")


def signin_firings(detector: Detector, params_sets: list[dict], since: datetime, until: datetime) -> list[list[Firing]]:
    results: list[list[Firing]] = [[] for _ in params_sets]
    if any(p["check_impossible_travel"] for p in params_sets):
        span = max(detector.context_span(p) for p in params_sets)
        for before, after in _moves(since, until, span=span):
            for params, firings in zip(params_sets, results, strict=True):
                if params["check_impossible_travel"] and impossible_travel(before, after, params):
                    firings.append(Firing(after.identity_id, before.occurred_at, after.occurred_at))
    if any(p["check_new_country"] for p in params_sets):
        found = new_country_moments(since=since, until=until)
        for params, firings in zip(params_sets, results, strict=True):
            if params["check_new_country"]:
                needed = timedelta(days=params["new_country_min_history_days"])
                firings.extend(
                    Firing(identity_id, moment, moment)
                    for identity_id, moments in found.items()
                    for moment, history in moments
                    if history >= needed
                )
    if any(p["check_source_risk"] or p["check_legacy_protocols"] for p in params_sets):
        for event in _flagged(params_sets, since, until):
            for params, firings in zip(params_sets, results, strict=True):
                if _risky_or_legacy(event, params):
                    firings.append(Firing(event.identity_id, event.occurred_at, event.occurred_at))
    sprays: dict[tuple[int, int], list[Firing]] = {}  # the same spray settings are looked up once
    for params, firings in zip(params_sets, results, strict=True):
        if params["check_password_spray"]:
            key = (params["spray_window_minutes"], params["spray_min_accounts"])
            if key not in sprays:
                sprays[key] = _sprays(detector, params, since, until)
            firings.extend(sprays[key])
    return results


def _moves(since, until, *, span: timedelta):
    """Consecutive located successful sign-ins of one identity whose place changed."""
    order = [F("occurred_at").asc(), F("id").asc()]
    window = {"partition_by": [F("identity_id")], "order_by": order}
    rows = (
        Event.objects.filter(SUCCESSFUL, occurred_at__gte=since - span, occurred_at__lt=until)
        .filter(latitude__isnull=False, longitude__isnull=False)
        .annotate(**{f"prev_{name}": Window(Lag(name), **window) for name in PREVIOUS})
        .filter(prev_occurred_at__isnull=False)
        .filter(~Q(latitude=F("prev_latitude")) | ~Q(longitude=F("prev_longitude")))
        .values("id", "identity_id", *PREVIOUS, *(f"prev_{name}" for name in PREVIOUS))
        .order_by()
    )
    for row in rows:
        if row["occurred_at"] < since:
            continue
        after = Event(pk=row["id"], identity_id=row["identity_id"], **{name: row[name] for name in PREVIOUS})
        before = Event(identity_id=row["identity_id"], **{name: row[f"prev_{name}"] for name in PREVIOUS})
        yield before, after


def new_country_moments(
    *, since: datetime, until: datetime, identity_ids=None
) -> dict[int, list[tuple[datetime, timedelta]]]:
    """When each identity first signed in from a country in the period, with how much sign-in
    history it had by then (``new_country`` needs enough), as the baselines remember it."""
    moments: dict[int, list[tuple[datetime, timedelta]]] = {}
    lo, hi = since.timestamp(), until.timestamp()
    baselines = IdentityBaseline.objects.exclude(countries={}).only("identity_id", "countries")
    if identity_ids is not None:
        baselines = baselines.filter(identity_id__in=sorted(identity_ids))
    for baseline in baselines:
        start = signin_history_start(baseline).timestamp()
        for first, _ in baseline.countries.values():
            if lo <= first < hi:
                moment = (datetime.fromtimestamp(first, tz=UTC), timedelta(seconds=first - start))
                moments.setdefault(baseline.identity_id, []).append(moment)
    return moments


def risk_prefilter(levels: list[str]) -> Q:
    """Sign-ins whose source reported a risk level in ``levels`` or any risk detection (SQL)."""
    levels = sorted({level.lower() for level in levels})
    return (
        Q(attributes__risk_level__in=levels)
        | Q(attributes__risk_level_aggregated__in=levels)
        | Q(attributes__risk_event_types__0__isnull=False)
    )


def _flagged(params_sets: list[dict], since: datetime, until: datetime) -> list[Event]:
    """Sign-ins the source rated risky or made with a client other than a browser or modern app."""
    risky = risk_prefilter([level for p in params_sets if p["check_source_risk"] for level in p["risk_levels"]])
    kinds = SUCCESSFUL
    if any(p["risk_include_failed"] for p in params_sets if p["check_source_risk"]):
        kinds = kinds | Q(kind=Event.Kind.SIGNIN_FAILED)
    condition = risky if any(p["check_source_risk"] for p in params_sets) else Q(pk__in=[])
    legacy_sets = [p for p in params_sets if p["check_legacy_protocols"]]
    if legacy_sets:
        listed_modern = any(
            client.lower() in modern.lower()
            for p in legacy_sets
            for client in p["legacy_clients"]
            for modern in MODERN_CLIENTS
        )
        legacy = Q(attributes__client_app__isnull=False) & ~Q(attributes__client_app="")
        if not listed_modern:
            legacy &= ~Q(attributes__client_app__in=MODERN_CLIENTS)
        for agent in {a for p in legacy_sets for a in p["legacy_user_agents"]}:
            legacy |= Q(user_agent__icontains=agent)
        condition |= SUCCESSFUL & legacy
    return list(
        Event.objects.filter(kinds, condition, occurred_at__gte=since, occurred_at__lt=until)
        .only("id", "identity_id", "kind", "occurred_at", "ip", "succeeded", "user_agent", "attributes")
        .order_by()
    )


def _risky_or_legacy(event: Event, params: dict) -> bool:
    successful = event.kind == Event.Kind.SIGNIN and granted_access(event)
    judged = params["check_source_risk"] and (successful or params["risk_include_failed"])
    if judged and source_risk(event, levels=params["risk_levels"], event_types=params["risk_event_types"]):
        return True
    return bool(params["check_legacy_protocols"] and successful and legacy_protocol(event, params))


def _sprays(detector: Detector, params: dict, since: datetime, until: datetime) -> list[Firing]:
    """IPs with failures for many accounts within a window, then the detector's network pass on them.

    A rolling window spans at most two buckets of its length, so one of them holds at least half
    of its accounts: only buckets with half the accounts or more (SQL) can be part of a spray, and
    each is replayed with its neighbours.
    """
    seconds = params["spray_window_minutes"] * 60
    half = math.ceil(params["spray_min_accounts"] / 2)
    buckets = (
        Event.objects.filter(kind=Event.Kind.SIGNIN_FAILED, occurred_at__gte=since, occurred_at__lt=until)
        .exclude(ip=None)
        .annotate(bucket=EpochBucket("occurred_at", seconds))
        .values("ip", "bucket")
        .annotate(accounts=Count("identity_id", distinct=True))
        .filter(accounts__gte=half)
        .values_list("ip", "bucket")
        .order_by("ip", "bucket")
    )
    ranges: list[tuple[str, int, int]] = []  # (ip, first bucket, last bucket), neighbours included
    for ip, bucket in buckets:
        if ranges and ranges[-1][0] == ip and ranges[-1][2] >= bucket - 1:
            ranges[-1] = (ip, ranges[-1][1], bucket + 1)
        else:
            ranges.append((ip, bucket - 1, bucket + 1))
    firings: list[Firing] = []
    for ip, first, last in ranges:
        start = datetime.fromtimestamp(first * seconds, tz=since.tzinfo)
        end = datetime.fromtimestamp((last + 1) * seconds, tz=since.tzinfo)
        firings.extend(_spray_at(detector, params, ip, start, end))
    return firings


def _spray_at(detector: Detector, params: dict, ip: str, start: datetime, end: datetime) -> list[Firing]:
    signins = list(
        Event.objects.filter(ip=ip, kind__in=[Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED])
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .select_related("identity")
        .defer("raw")
        .order_by("occurred_at", "id")
    )
    succeeded = {event.identity_id for event in signins if event.kind == Event.Kind.SIGNIN}
    ctx = DetectionContext(
        identities={event.identity_id: event.identity for event in signins},
        history={},
        baselines={b.identity_id: b for b in IdentityBaseline.objects.filter(identity_id__in=sorted(succeeded))},
        accepted_domains=frozenset(),
        signins_by_ip={ip: signins},
    )
    return [Firing.of(finding) for finding in detector.detect_network(ctx, signins, params)]

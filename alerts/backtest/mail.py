"""Back-test of the sending detectors: SQL finds the busy hours, the detector judges them.

The baselines' daily recipient counts (exact, kept 60 days) rule out the identities that never
came near the lowest threshold. For the others, recipients per clock hour are summed in SQL: a
rolling 60-minute window spans at most two adjacent clock hours (and a rolling day two adjacent
days), so an hour whose sum with a neighbour stays under the threshold cannot fire and is
skipped; the rest is replayed through the detector with its real context. Counting a message's
Send record and its trace rows both only widens the pre-filter, never narrows it.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import TruncHour

from alerts.backtest.firings import Firing
from alerts.backtest.replay import replay
from alerts.backtest.sql import RecipientCount
from alerts.baselines import recipients_around
from alerts.detectors.base import Detector
from alerts.models import Event, IdentityBaseline

HOUR = timedelta(hours=1)
MAX_RANGES = 400


def _floors(detector: Detector, params_sets: list[dict]) -> tuple[int, int | None]:
    """The lowest hourly and daily recipient counts that could fire under any parameter set."""
    if detector.key == "sending_limit_exceeded":
        hourly = min(min(p["external_per_hour"], p["internal_per_hour"]) for p in params_sets)
        return hourly, min(p["recipients_per_day"] for p in params_sets)
    return min(min(p["min_recipients"], p["min_external_recipients"]) for p in params_sets), None


def busy_identities(*, since: datetime, until: datetime, floor: int) -> list[int]:
    """Identities whose daily counts (baselines) put some window of the period above ``floor``."""
    first, last = (since - timedelta(days=1)).date().isoformat(), until.date().isoformat()
    busy = []
    for baseline in IdentityBaseline.objects.exclude(daily_recipients={}).only("identity_id", "daily_recipients"):
        days = [day for day, count in baseline.daily_recipients.items() if first <= day <= last]
        if not days or 2 * max(baseline.daily_recipients[day] for day in days) <= floor:
            continue  # no two days together reach the floor: the usual case, decided without dates
        for day in days:
            moment = datetime.combine(date.fromisoformat(day), time(12), tzinfo=UTC)
            if recipients_around(baseline, moment) > floor:
                busy.append(baseline.identity_id)
                break
    return busy


def busy_hours(*, since: datetime, until: datetime, hourly: int, daily: int | None) -> dict[int, list[datetime]]:
    """Per identity, the clock hours whose mail could reach the floors.

    The baselines' exact daily counts rule out most identities first; the busy ones' mail is then
    summed per clock hour in one aggregate query.
    """
    identities = busy_identities(since=since, until=until, floor=hourly if daily is None else min(hourly, daily))
    if not identities:
        return {}
    rows = (
        Event.objects.filter(
            kind=Event.Kind.MAIL_SENT,
            identity_id__in=identities,
            occurred_at__gte=since - timedelta(days=1),
            occurred_at__lt=until,
        )
        .annotate(hour=TruncHour("occurred_at", tzinfo=UTC))
        .values("identity_id", "hour")
        .annotate(recipients=Sum(RecipientCount("attributes")))
        .order_by()
    )
    per_hour: dict[int, dict[datetime, int]] = defaultdict(dict)
    for row in rows:
        per_hour[row["identity_id"]][row["hour"]] = row["recipients"]
    busy: dict[int, list[datetime]] = {}
    for identity_id, hours in per_hour.items():
        per_day: dict = defaultdict(int)
        for hour, count in hours.items():
            per_day[hour.date()] += count
        chosen = []
        for hour, count in hours.items():
            pair = max(count + hours.get(hour - HOUR, 0), count + hours.get(hour + HOUR, 0))
            day = hour.date()
            day_pair = max(
                per_day[day] + per_day.get(day - timedelta(days=1), 0),
                per_day[day] + per_day.get(day + timedelta(days=1), 0),
            )
            if pair >= hourly or (daily is not None and day_pair >= daily):
                chosen.append(hour)
        if chosen:
            busy[identity_id] = sorted(chosen)
    return busy


def _ranges(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    ranges: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges


def mail_firings(detector: Detector, params_sets: list[dict], since: datetime, until: datetime) -> list[list[Firing]]:
    hourly, daily = _floors(detector, params_sets)
    busy = busy_hours(since=since, until=until, hourly=hourly, daily=daily)
    condition = Q()
    ranges = [(identity_id, r) for identity_id, hours in busy.items() for r in _ranges(hours)]
    if len(ranges) > MAX_RANGES:  # a very busy tenant: one range per identity keeps the query short
        ranges = [(identity_id, (hours[0], hours[-1] + HOUR)) for identity_id, hours in busy.items()]
    for identity_id, (start, end) in ranges:
        condition |= Q(identity_id=identity_id, occurred_at__gte=max(start, since), occurred_at__lt=min(end, until))
    kinds = Q(kind=Event.Kind.MAIL_SENT) & condition if ranges else Q(pk__in=[])
    if Event.Kind.SENDING_RESTRICTED in detector.trigger_kinds:
        kinds |= Q(kind=Event.Kind.SENDING_RESTRICTED, occurred_at__gte=since, occurred_at__lt=until)
    candidates = list(Event.objects.filter(kinds).select_related("identity").defer("raw").order_by("occurred_at", "id"))
    return replay(detector, params_sets, candidates)

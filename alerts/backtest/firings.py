"""From detector firings to alerts per day, folding as live detection does."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from alerts.detectors.base import Detection


@dataclass(frozen=True)
class Firing:
    """One moment a detector would have fired for an identity."""

    identity_id: int
    first_at: datetime
    last_at: datetime
    fold_key: str | None = None

    @classmethod
    def of(cls, finding: Detection) -> "Firing":
        return cls(finding.identity_id, finding.first_at, finding.last_at, finding.fold_key)


def alerts_per_day(
    firings: Iterable[Firing], *, fold_window: timedelta, since: datetime, until: datetime
) -> dict[date, int]:
    """How many alerts the firings make, by the UTC day of each alert's first activity.

    Same rule as ``alert_raise``: per identity, a firing joins the alert whose activity is
    within ``fold_window`` of it; a firing with its own ``fold_key`` (an external alert) is one
    alert per key. Alerts that begin outside ``[since, until)`` are not counted.
    """
    by_identity: dict[int, list[Firing]] = defaultdict(list)
    keyed: dict[tuple[int, str], datetime] = {}
    for firing in firings:
        if firing.fold_key:
            key = (firing.identity_id, firing.fold_key)
            keyed[key] = min(keyed.get(key, firing.first_at), firing.first_at)
        else:
            by_identity[firing.identity_id].append(firing)
    starts = list(keyed.values())
    for identity_firings in by_identity.values():
        identity_firings.sort(key=lambda f: f.first_at)
        last: datetime | None = None
        for firing in identity_firings:
            if last is None or firing.first_at - last > fold_window:
                starts.append(firing.first_at)
                last = firing.last_at
            else:
                last = max(last, firing.last_at)
    counts: dict[date, int] = defaultdict(int)
    for start in starts:
        if since <= start < until:
            counts[start.astimezone(UTC).date()] += 1
    return dict(counts)

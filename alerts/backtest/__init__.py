"""Policy back-test: how many alerts new parameters would have raised, per day, against the current ones.

Both parameter sets are judged on the same stored events in one pass, with the detector's own
checks; SQL narrows the events first (see ``signin`` and ``mail``), so a month of a large tenant
answers in seconds. Suppressions are not applied: the back-test compares parameters. Alerts
are counted on the day of their first activity, folded as live detection folds them.
"""

import time
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from alerts.backtest.firings import alerts_per_day
from alerts.backtest.mail import mail_firings
from alerts.backtest.mfa import mfa_firings
from alerts.backtest.replay import replay_firings
from alerts.backtest.signin import signin_firings
from alerts.baselines import SENDING_KEEP_DAYS
from alerts.detectors.registry import DETECTORS, effective_parameters
from alerts.models import Alert, AlertPolicy
from alerts.services.policies import policy_parameters_clean

RUNNERS = {
    "suspicious_signin": signin_firings,
    "suspicious_email_sending": mail_firings,
    "sending_limit_exceeded": mail_firings,
    "mfa_method_changed": mfa_firings,
}
MAX_DAYS = SENDING_KEEP_DAYS  # the sending pre-filter reads the baselines' daily counts


@dataclass(frozen=True)
class Backtest:
    days: list[date]
    current: list[int]
    proposed: list[int]
    raised: list[int]
    seconds: float

    @property
    def current_total(self) -> int:
        return sum(self.current)

    @property
    def proposed_total(self) -> int:
        return sum(self.proposed)

    @property
    def raised_total(self) -> int:
        return sum(self.raised)


def policy_backtest(*, policy: AlertPolicy, parameters: dict, days: int = 30, now=None) -> Backtest:
    """Alerts per day over the last ``days`` days for the current and the proposed ``parameters``.

    ``parameters`` are validated like a save (``DomainError`` on bad values). ``raised`` is what
    detection actually raised under this policy, for comparison.
    """
    started = time.monotonic()
    detector = DETECTORS[policy.detector]
    current = effective_parameters(detector, policy.parameters)
    proposed = policy_parameters_clean(policy=policy, parameters=parameters)
    days = max(1, min(int(days), MAX_DAYS))
    until = now or timezone.now()
    since = until - timedelta(days=days)
    runner = RUNNERS.get(detector.key, replay_firings)
    with transaction.atomic():
        if connection.vendor == "postgresql":  # room to sort and group a month in memory
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        current_firings, proposed_firings = runner(detector, [current, proposed], since, until)
    day_list = [(since + timedelta(days=offset)).astimezone(UTC).date() for offset in range(days + 1)]

    def series(firings, params) -> list[int]:
        counts = alerts_per_day(
            firings, fold_window=timedelta(hours=params["fold_window_hours"]), since=since, until=until
        )
        return [counts.get(day, 0) for day in day_list]

    raised_rows = (
        Alert.objects.filter(detector=detector.key, first_activity_at__gte=since, first_activity_at__lt=until)
        .annotate(day=TruncDate("first_activity_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
        .order_by()
    )
    raised = dict(raised_rows)
    return Backtest(
        days=day_list,
        current=series(current_firings, current),
        proposed=series(proposed_firings, proposed),
        raised=[raised.get(day, 0) for day in day_list],
        seconds=time.monotonic() - started,
    )

"""Raising alerts: create one, or fold a repeat into the alert it belongs to, a batch at a time.

Folding rule: a finding joins the open alert (``new`` or ``in_progress``) of the same detector
and identity whose activity lies within the policy's fold window of the finding's activity.
Otherwise a new alert is inserted under ``dedup_key`` = the fold-window bucket of its first
activity (or the source's own id, for external alerts, whose updates fold whatever the alert's
status). A closed alert is never reopened by new activity: the next key (``…#2``) is used.

``alerts_raise`` applies that rule to a whole detection batch in a fixed handful of statements,
whatever the number of findings: it locks the alerts the findings may fold into (one SELECT …
FOR UPDATE), reads which of the findings' events they already hold (one SELECT), decides every
fold and insert in memory in the findings' order, then inserts the new alerts, links the new
events and updates the folded alerts (one statement each). The result is the one ``alert_raise``
per finding, in order, would give. The ``alert_fold_unique`` constraint stays the arbiter
between concurrent writers: if another transaction inserted one of the batch's keys first, the
insert fails inside a savepoint, nothing of the batch is written, and the findings are raised one
by one (``alert_raise``'s path), the loser of each race folding into the winner's row, locked,
so nothing is created or counted twice.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.detectors.base import Detection
from alerts.models import SEVERITY_RANK, Alert, AlertPolicy, Identity
from alerts.signals import alert_raised

OPEN_STATUSES = (Alert.Status.NEW, Alert.Status.IN_PROGRESS)
MAX_REASONS = 50
MAX_EVIDENCE_ITEMS = 50
MAX_KEY_ATTEMPTS = 50
FOLDED_FIELDS = [
    "evidence",
    "description",
    "title",
    "first_activity_at",
    "last_activity_at",
    "severity",
    "event_count",
    "updated_at",
]


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool
    new_events: int


@dataclass(frozen=True)
class AlertRaise:
    """One finding to raise under ``policy``. ``retitle`` lets a detector recompute the title from
    the merged reasons when a fold adds a new kind of reason."""

    policy: AlertPolicy
    identity: Identity | None  # None: about no user (another product's alert on a device or an app)
    finding: Detection
    fold_window: timedelta
    retitle: Callable[[dict[str, str]], str | None] | None = None

    @property
    def severity(self) -> str:
        return self.finding.severity or self.policy.severity

    @property
    def pair(self) -> tuple[str, int | None]:
        return self.policy.detector, self.identity.pk if self.identity is not None else None

    @property
    def base_key(self) -> str:
        return self.finding.fold_key or _bucket_key(self.finding.first_at, self.fold_window)


def _bucket_key(moment: datetime, window: timedelta) -> str:
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=UTC)
    return f"{seconds // 3600}h:{start:%Y-%m-%dT%H:%M}"


def _key(base: str, attempt: int) -> str:
    return (base if attempt == 1 else f"{base}#{attempt}")[:200]


def describe(reasons: dict[str, str]) -> str:
    """The alert's plain-words description: one line per reason, most recent last."""
    lines = list(reasons.values())
    return "\n".join(lines)


def merge_evidence(old: dict, new: dict) -> dict:
    """Lists of compared values accumulate (capped); single values take the latest."""
    merged = dict(old)
    for key, value in new.items():
        if key == "reasons":
            continue
        if isinstance(value, list) and isinstance(merged.get(key), list):
            combined = merged[key] + [item for item in value if item not in merged[key]]
            merged[key] = combined[-MAX_EVIDENCE_ITEMS:]
        else:
            merged[key] = value
    return merged


def _merge_reasons(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    merged = dict(old)
    for code, sentence in new.items():
        if code in merged or len(merged) < MAX_REASONS:
            merged[code] = sentence
    return merged


def _new_alert(item: AlertRaise, key: str) -> Alert:
    """The unsaved alert ``item`` opens under ``key``."""
    policy, finding = item.policy, item.finding
    reasons = _merge_reasons({}, finding.reasons)
    return Alert(
        policy=policy,
        policy_version=policy.version,
        detector=policy.detector,
        identity=item.identity,
        title=finding.title[:300],
        description=describe(reasons),
        evidence={**merge_evidence({}, finding.evidence), "reasons": reasons},
        severity=item.severity,
        dedup_key=key,
        event_count=len({event.pk for event in finding.events}),
        first_activity_at=finding.first_at,
        last_activity_at=finding.last_at,
    )


def _fold(alert: Alert, item: AlertRaise, new_events: int) -> bool:
    """Fold the finding into ``alert`` in memory; False when it brings nothing new. An event
    judged again (a sign-in whose richer copy arrived late) may bring a new reason or a higher
    severity on events already linked: that is news too."""
    finding, severity = item.finding, item.severity
    old_reasons = alert.evidence.get("reasons", {})
    raises = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(alert.severity, 0)
    reasons = _merge_reasons(old_reasons, finding.reasons)
    if not new_events and not raises and reasons.keys() == old_reasons.keys():
        return False
    alert.evidence = {**merge_evidence(alert.evidence, finding.evidence), "reasons": reasons}
    alert.description = describe(reasons)
    alert.title = ((item.retitle(reasons) if item.retitle else None) or alert.title)[:300]
    alert.event_count += new_events
    alert.first_activity_at = min(alert.first_activity_at, finding.first_at)
    alert.last_activity_at = max(alert.last_activity_at, finding.last_at)
    if raises:
        alert.severity = severity
    return True


# --- one finding at a time (and a batch that lost an insert race) ------------------------------------


def alert_raise(
    *,
    policy: AlertPolicy,
    identity: Identity | None,
    finding: Detection,
    fold_window: timedelta,
    retitle: Callable[[dict[str, str]], str | None] | None = None,
) -> RaiseResult:
    """Create or fold the alert for ``finding`` with the database as the arbiter (a few statements
    of its own); send ``alert_raised`` when anything new arrived. A batch goes through ``alerts_raise``."""
    result, news = _raise_one(AlertRaise(policy, identity, finding, fold_window, retitle))
    if news:
        alert_raised.send(sender=Alert, alert=result.alert, created=result.created)
    return result


def _raise_one(item: AlertRaise) -> tuple[RaiseResult, bool]:
    """(the result, whether anything new arrived)."""
    with transaction.atomic():
        alert = _open_alert(item)
        created = False
        if alert is None:
            alert, created = _insert(item)
        new_events = _attach_events(alert, item.finding)
        folded = not created and _fold(alert, item, new_events)
        if folded:
            alert.updated_at = timezone.now()
            alert.save(update_fields=FOLDED_FIELDS)
    return RaiseResult(alert=alert, created=created, new_events=new_events), created or folded


def _open_alert(item: AlertRaise) -> Alert | None:
    detector, identity_id = item.pair
    alerts = Alert.objects.select_for_update().filter(detector=detector, identity_id=identity_id)
    finding, window = item.finding, item.fold_window
    if finding.fold_key:
        return alerts.filter(dedup_key=finding.fold_key).first()
    return (
        alerts.filter(
            status__in=OPEN_STATUSES,
            last_activity_at__gte=finding.first_at - window,
            first_activity_at__lte=finding.last_at + window,
        )
        .order_by("-last_activity_at", "-id")
        .first()
    )


def _insert(item: AlertRaise) -> tuple[Alert, bool]:
    detector, identity_id = item.pair
    for attempt in range(1, MAX_KEY_ATTEMPTS + 1):
        key = _key(item.base_key, attempt)
        try:
            with transaction.atomic():
                alert = _new_alert(item, key)
                alert.save(force_insert=True)
            return alert, True
        except IntegrityError:
            existing = Alert.objects.select_for_update().get(detector=detector, identity_id=identity_id, dedup_key=key)
            if item.finding.fold_key or existing.status in OPEN_STATUSES:
                return existing, False
    raise IntegrityError(f"no free alert key after {MAX_KEY_ATTEMPTS} closed alerts under {item.base_key!r}")


def _attach_events(alert: Alert, finding: Detection) -> int:
    """Link the finding's events not linked yet; the number added (redelivery adds none)."""
    through = Alert.events.through
    wanted = {event.pk for event in finding.events}
    linked = set(through.objects.filter(alert_id=alert.pk, event_id__in=wanted).values_list("event_id", flat=True))
    new = sorted(wanted - linked)
    through.objects.bulk_create([through(alert_id=alert.pk, event_id=pk) for pk in new], ignore_conflicts=True)
    return len(new)


# --- a batch of findings ---------------------------------------------------------------------------


@dataclass
class _Pair:
    """The alerts of one (detector, identity) the batch may fold into, as the batch changes them."""

    alerts: list[Alert] = field(default_factory=list)  # existing ones first, then those the batch opens
    by_key: dict[str, Alert] = field(default_factory=dict)


@dataclass
class _Plan:
    """Every fold and insert of a batch, decided in memory before anything is written. Alerts are
    tracked by ``id()``: those the batch opens have no primary key until they are inserted."""

    pairs: dict[tuple[str, int | None], _Pair]
    stored_links: dict[int, set[int]]  # existing alert's id -> the batch's events it already holds
    created: list[Alert] = field(default_factory=list)
    touched: dict[int, Alert] = field(default_factory=dict)
    held: dict[int, set[int]] = field(default_factory=dict)  # the events each touched alert holds
    links: dict[int, list[int]] = field(default_factory=dict)  # the events to link to it
    folded: dict[int, Alert] = field(default_factory=dict)  # existing alerts to update
    news: dict[int, tuple[Alert, bool]] = field(default_factory=dict)  # alerts news arrived in: (alert, created)
    results: list[RaiseResult] = field(default_factory=list)

    def add(self, item: AlertRaise) -> None:
        pair = self.pairs[item.pair]
        alert, created = self._target(pair, item), False
        if alert is None:
            alert, created = self._open(pair, item)
        key = id(alert)
        if key not in self.touched:
            self.touched[key] = alert
            self.held[key] = set() if created else set(self.stored_links.get(alert.pk, ()))
            self.links[key] = []
        new = sorted({event.pk for event in item.finding.events} - self.held[key])
        self.held[key].update(new)
        self.links[key].extend(new)
        folded = not created and _fold(alert, item, len(new))
        if folded and alert.pk is not None:
            self.folded[key] = alert
        if created or folded:
            self.news.setdefault(key, (alert, created))
        self.results.append(RaiseResult(alert=alert, created=created, new_events=len(new)))

    @staticmethod
    def _target(pair: _Pair, item: AlertRaise) -> Alert | None:
        """The alert ``_open_alert`` would find, from the pair's alerts as the batch left them."""
        finding, window = item.finding, item.fold_window
        if finding.fold_key:
            return pair.by_key.get(finding.fold_key)
        fitting = [
            (alert.last_activity_at, alert.pk is None, alert.pk or order, alert)
            for order, alert in enumerate(pair.alerts)
            if alert.status in OPEN_STATUSES
            and alert.last_activity_at >= finding.first_at - window
            and alert.first_activity_at <= finding.last_at + window
        ]
        return max(fitting, key=lambda row: row[:3])[3] if fitting else None

    def _open(self, pair: _Pair, item: AlertRaise) -> tuple[Alert, bool]:
        """(a new alert under the first free key, True), or, as ``_insert`` on a conflict, (the
        alert holding the key, False) when it may take the finding."""
        for attempt in range(1, MAX_KEY_ATTEMPTS + 1):
            key = _key(item.base_key, attempt)
            holder = pair.by_key.get(key)
            if holder is None:
                alert = pair.by_key[key] = _new_alert(item, key)
                pair.alerts.append(alert)
                self.created.append(alert)
                return alert, True
            if item.finding.fold_key or holder.status in OPEN_STATUSES:
                return holder, False
        raise IntegrityError(f"no free alert key after {MAX_KEY_ATTEMPTS} closed alerts under {item.base_key!r}")


def alerts_raise(*, raises: Sequence[AlertRaise]) -> list[RaiseResult]:
    """Create or fold the alert of every finding in ``raises``, in order, as ``alert_raise`` one
    after another would, in a handful of statements; ``alert_raised`` is sent once for each alert
    that anything new arrived in (``created`` when the batch opened it), in the order they did."""
    if not raises:
        return []
    with transaction.atomic():
        plan = _plan(raises)
        try:
            with transaction.atomic():
                Alert.objects.bulk_create(plan.created)
        except IntegrityError:  # a concurrent writer inserted one of the keys: let the constraint arbitrate
            return _raise_each(raises)
        through = Alert.events.through
        rows = [
            through(alert_id=alert.pk, event_id=pk) for key, alert in plan.touched.items() for pk in plan.links[key]
        ]
        through.objects.bulk_create(rows, ignore_conflicts=True)
        if plan.folded:
            now = timezone.now()
            for alert in plan.folded.values():
                alert.updated_at = now
            _update(list(plan.folded.values()))
        for alert, created in plan.news.values():
            alert_raised.send(sender=Alert, alert=alert, created=created)
    return plan.results


def _raise_each(raises: Sequence[AlertRaise]) -> list[RaiseResult]:
    results, news = [], {}
    for item in raises:
        result, new = _raise_one(item)
        results.append(result)
        if new:
            news.setdefault(result.alert.pk, (result.alert, result.created))
    for alert, created in news.values():
        alert_raised.send(sender=Alert, alert=alert, created=created)
    return results


def _plan(raises: Sequence[AlertRaise]) -> _Plan:
    """Lock the alerts the findings may fold into or whose keys they may take, read which of the
    findings' events they hold, and decide every fold and insert in memory."""
    pairs: dict[tuple[str, int | None], _Pair] = defaultdict(_Pair)
    for alert in _candidates(raises):
        pair = pairs[(alert.detector, alert.identity_id)]
        pair.alerts.append(alert)
        pair.by_key[alert.dedup_key] = alert
    through = Alert.events.through
    held = through.objects.filter(
        alert_id__in=[alert.pk for pair in pairs.values() for alert in pair.alerts],
        event_id__in={event.pk for item in raises for event in item.finding.events},
    ).values_list("alert_id", "event_id")
    stored_links: dict[int, set[int]] = defaultdict(set)
    for alert_id, event_id in held:
        stored_links[alert_id].add(event_id)
    plan = _Plan(pairs=pairs, stored_links=stored_links)
    for item in raises:
        plan.add(item)
    return plan


def _candidates(raises: Sequence[AlertRaise]) -> list[Alert]:
    """The alerts, locked, that the findings may fold into (open ones within their reach, by the
    partial index ``alert_open_fold_idx``) or whose keys they may take, in one query (one term per
    detector); and, only where a closed alert holds a finding's key, that key's successors
    (``…#2``), in a second."""
    reach: dict[str, list] = {}  # detector -> [identity ids, earliest reach, latest reach, keys]
    for item in raises:
        lo, hi = item.finding.first_at - item.fold_window, item.finding.last_at + item.fold_window
        entry = reach.setdefault(item.policy.detector, [set(), lo, hi, set()])
        entry[0].add(item.pair[1])
        entry[1], entry[2] = min(entry[1], lo), max(entry[2], hi)
        entry[3].add(item.base_key[:200])
    locked = Alert.objects.select_for_update().order_by("pk")
    alerts = list(
        locked.filter(
            reduce(
                or_,
                (
                    Q(detector=detector)
                    & _identity_in(ids)
                    & (
                        Q(status__in=OPEN_STATUSES, last_activity_at__gte=lo, first_activity_at__lte=hi)
                        | Q(dedup_key__in=sorted(keys))
                    )
                    for detector, (ids, lo, hi, keys) in reach.items()
                ),
            )
        )
    )
    wanted = {(*item.pair, item.base_key[:200]) for item in raises}
    closed = [
        Q(detector=alert.detector, identity_id=alert.identity_id, dedup_key__startswith=f"{alert.dedup_key}#")
        for alert in alerts
        if alert.status not in OPEN_STATUSES and (alert.detector, alert.identity_id, alert.dedup_key) in wanted
    ]
    if closed:
        loaded = {alert.pk for alert in alerts}
        alerts += [alert for alert in locked.filter(reduce(or_, closed)) if alert.pk not in loaded]
    return alerts


def _identity_in(ids: set[int | None]) -> Q:
    """The alerts of these identities; ``None`` among them stands for the alerts about no user
    (SQL's ``IN`` never matches NULL)."""
    match = Q(identity_id__in=sorted(i for i in ids if i is not None))
    return match | Q(identity__isnull=True) if None in ids else match


def _update(alerts: list[Alert]) -> None:
    """Write the folded alerts back in one ``UPDATE … FROM (VALUES …)`` per thousand rows: Django's
    ``bulk_update`` builds a CASE per field and row, which costs more than the database's work.
    The VALUES columns are named column1, column2… by PostgreSQL and SQLite alike."""
    table, quote = Alert._meta.db_table, connection.ops.quote_name
    fields = [Alert._meta.get_field(name) for name in FOLDED_FIELDS]
    typed = connection.vendor == "postgresql"  # VALUES of text literals need a type there

    def value(n: int, field) -> str:
        return f"CAST(v.column{n} AS {field.db_type(connection)})" if typed else f"v.column{n}"

    assignments = ", ".join(f"{quote(field.column)} = {value(n, field)}" for n, field in enumerate(fields, start=2))
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    for start in range(0, len(alerts), 1000):
        chunk = alerts[start : start + 1000]
        params = []
        for alert in chunk:
            params.append(alert.pk)
            params.extend(field.get_db_prep_save(getattr(alert, field.attname), connection) for field in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(table)} SET {assignments} FROM (VALUES {', '.join([row] * len(chunk))}) AS v "  # noqa: S608
                f"WHERE {quote(table)}.{quote('id')} = v.column1",
                params,
            )

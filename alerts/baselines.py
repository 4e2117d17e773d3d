"""Per-identity baselines: where a user signs in from and how much mail they send.

Kept incrementally by detection, one batch at a time (``baselines_update``), never recomputed
from scratch: per batch, one read of the touched baselines, one insert of the batch's sent
recipients with one aggregate over the days it touched, and one upsert of what changed.
Everything is keyed on *event time*: a backfill of last month's logs extends the baseline
backwards, and each event is judged against what was known before it happened.
"""

import hashlib
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from alerts.activity.access import granted_access, non_interactive
from alerts.activity.addresses import ip_range
from alerts.activity.mail import event_recipients, message_key
from alerts.models import Event, IdentityBaseline, SentRecipient

SENDING_KEEP_DAYS = 60
LAST_SEEN_STEP = 86400  # seconds
LAST_ACTIVITY_STEP = timedelta(hours=1)
RECENT_SIGNIN_SECONDS = 2 * 86400
MAX_RECENT_SIGNINS = 200
ADVISORY_LOCK_CLASS = 4_242_001  # the first key of pg_advisory_xact_lock: "identity baselines"
GEO_KEEP_DAYS = 180
MAX_IP_RANGES = 500
GEO_KINDS = (Event.Kind.SIGNIN,)
MAIL_KIND = Event.Kind.MAIL_SENT


@dataclass(frozen=True)
class SendingBaseline:
    """The user's usual day: median recipients (all / external) over active days in the period."""

    median_recipients: float
    median_external: float
    active_days: int
    period_days: int


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _remember(entries: dict, value: str | None, at: datetime) -> bool:
    """Widen ``value``'s [first, last] seen span to include ``at``; True if anything changed.

    ``first`` is exact (it decides what is new); ``last`` only serves pruning, so it moves in
    steps of ``LAST_SEEN_STEP``: a user signing in again from a known place writes nothing.
    """
    if not value:
        return False
    moment = _epoch(at)
    if value not in entries:
        entries[value] = [moment, moment]
        return True
    first, last = entries[value]
    if moment >= first and moment - last < LAST_SEEN_STEP:
        return False
    entries[value] = [min(first, moment), max(last, moment)]
    return True


def _prune(entries: dict, *, newest: int, keep_seconds: int, cap: int | None = None) -> None:
    for value in [value for value, (_, last) in entries.items() if last < newest - keep_seconds]:
        del entries[value]
    if cap is not None and len(entries) > cap:
        for value in sorted(entries, key=lambda v: entries[v][1])[: len(entries) - cap]:
            del entries[value]


def baselines_update(*, events: list[Event], is_internal) -> dict[int, IdentityBaseline]:
    """Lock, extend and save the baselines of the identities in ``events``; return them by identity id.

    Idempotent: spans only widen, and each sending day the batch touches is recounted from the
    stored events, so a redelivered batch leaves the same baseline. Must run in a transaction:
    identities are locked in order, so two workers on overlapping batches wait for each other.
    """
    identity_ids = sorted({event.identity_id for event in events})
    _lock(identity_ids)
    baselines = {b.identity_id: b for b in IdentityBaseline.objects.filter(identity_id__in=identity_ids)}
    for identity_id in identity_ids:
        baselines.setdefault(identity_id, IdentityBaseline(identity_id=identity_id))

    changed: set[int] = set()
    mail_days: dict[int, set[date]] = defaultdict(set)
    recent: dict[int, list[Event]] = {}
    for event in events:
        baseline = baselines[event.identity_id]
        if baseline.first_activity_at is None or event.occurred_at < baseline.first_activity_at:
            baseline.first_activity_at = event.occurred_at
            changed.add(baseline.pk)
        if baseline.last_activity_at is None or event.occurred_at - baseline.last_activity_at >= LAST_ACTIVITY_STEP:
            baseline.last_activity_at = event.occurred_at
            changed.add(baseline.pk)
        if event.kind in GEO_KINDS and granted_access(event):
            # A token redeemed without the user (non-interactive: perhaps a replayed one) does not
            # make a country the user's own; it never counts as one they broke either.
            country = None if non_interactive(event) else event.country.upper() or None
            if _remember(baseline.countries, country, event.occurred_at):
                changed.add(baseline.pk)
            if _remember(baseline.ip_ranges, ip_range(event.ip), event.occurred_at):
                changed.add(baseline.pk)
            if _remember(baseline.ip_ranges, asn_key(event), event.occurred_at):
                changed.add(baseline.pk)
            if event.latitude is not None and event.longitude is not None:
                recent.setdefault(event.identity_id, []).append(event)
        elif event.kind == MAIL_KIND:
            mail_days[event.identity_id].add(event.occurred_at.astimezone(UTC).date())

    if mail_days:
        changed.update(_count_sending_days(baselines, events, mail_days, is_internal))
    for identity_id, signins in recent.items():
        if _remember_signins(baselines[identity_id], signins):
            changed.add(identity_id)

    now = timezone.now()
    for identity_id in changed:
        baseline = baselines[identity_id]
        baseline.updated_at = now
        newest = _epoch(baseline.last_activity_at)
        _prune(baseline.countries, newest=newest, keep_seconds=GEO_KEEP_DAYS * 86400)
        _prune(baseline.ip_ranges, newest=newest, keep_seconds=GEO_KEEP_DAYS * 86400, cap=MAX_IP_RANGES)
        oldest_day = (baseline.last_activity_at.astimezone(UTC).date() - timedelta(days=SENDING_KEEP_DAYS)).isoformat()
        for series in (baseline.daily_recipients, baseline.daily_external_recipients):
            for day in [day for day in series if day < oldest_day]:
                del series[day]
    _save([baselines[identity_id] for identity_id in sorted(changed)])
    return baselines


def _remember_signins(baseline: IdentityBaseline, signins: list[Event]) -> bool:
    """Add located sign-ins to ``recent_signins``; keep the two days before the newest, by time."""
    entries = {entry[4]: entry for entry in baseline.recent_signins or []}
    before = len(entries)
    for event in signins:
        entries[event.pk] = [
            _epoch(event.occurred_at),
            event.latitude,
            event.longitude,
            event.ip,
            event.pk,
            event.city[:64],
            event.country,
        ]
    if len(entries) == before:
        return False
    ordered = sorted(entries.values(), key=lambda entry: (entry[0], entry[4]))
    horizon = ordered[-1][0] - RECENT_SIGNIN_SECONDS
    baseline.recent_signins = [entry for entry in ordered if entry[0] >= horizon][-MAX_RECENT_SIGNINS:]
    return True


def recent_signins(baseline: IdentityBaseline | None, *, around: set[int]) -> list[Event]:
    """The remembered sign-ins with ids in ``around`` and their neighbours in time, as (unsaved)
    events carrying their real ids, oldest first. Only those are built: a busy user remembers many."""
    entries = baseline.recent_signins if baseline is not None else []
    wanted = {i + step for i, entry in enumerate(entries) if entry[4] in around for step in (-1, 0, 1)}
    return [
        Event(
            pk=pk,
            identity_id=baseline.identity_id,
            kind=Event.Kind.SIGNIN,
            succeeded=True,
            occurred_at=datetime.fromtimestamp(epoch, tz=UTC),
            latitude=latitude,
            longitude=longitude,
            ip=ip,
            city=city,
            country=country,
        )
        for index, (epoch, latitude, longitude, ip, pk, city, country) in enumerate(entries)
        if index in wanted
    ]


def recent_signins_cover(baseline: IdentityBaseline | None, moment: datetime, span: timedelta) -> bool:
    """True when ``recent_signins`` holds every sign-in that could pair with one at ``moment``.

    That is: ``moment`` is within the remembered period, and the period starts at least ``span``
    before it (older sign-ins are too far back to be impossible travel) or nothing older exists.
    """
    if baseline is None or not baseline.recent_signins:
        return False
    first = baseline.recent_signins[0][0]
    moment_epoch = _epoch(moment)
    if moment_epoch < first:
        return False
    if first <= moment_epoch - span.total_seconds():
        return True
    start = signin_history_start(baseline)
    return start is not None and _epoch(start) >= first


def _lock(identity_ids: list[int]) -> None:
    """Serialise baseline updates per identity until the transaction ends.

    PostgreSQL: transaction-level advisory locks, taken in identity order so overlapping batches
    wait instead of deadlocking; they also cover identities that have no baseline row yet.
    SQLite serialises writing transactions itself.
    """
    if connection.vendor != "postgresql" or not identity_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, id) FROM unnest(%s::int[]) AS id ORDER BY id",
            [ADVISORY_LOCK_CLASS, identity_ids],
        )


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def sent_pairs(events: list[Event], is_internal) -> set[tuple[int, date, str, str, bool]]:
    """The (identity, UTC day, message, recipient, external) rows of the mail among ``events``."""
    pairs = set()
    for event in events:
        if event.kind != MAIL_KIND:
            continue
        day = event.occurred_at.astimezone(UTC).date()
        message = _digest(message_key(event))
        for address in event_recipients(event) or [""]:
            recipient = _digest(address) if address else ""
            pairs.add((event.identity_id, day, message, recipient, bool(address) and not is_internal(address)))
    return pairs


def pairs_insert(pairs: set[tuple]) -> None:
    """Insert sent pairs, skipping those already stored (the unique constraint decides)."""
    rows = sorted(pairs)
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SentRecipient._meta.db_table} (identity_id, day, message, recipient, external) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))} ON CONFLICT DO NOTHING",
                [value for row in chunk for value in row],
            )


# Per (identity, day): each message counts its distinct recipients, or one when it has none.
_DAY_COUNTS = """
    SELECT identity_id, day, SUM(CASE WHEN recipients = 0 THEN 1 ELSE recipients END), SUM(externals)
    FROM (
        SELECT identity_id, day, message,
               SUM(CASE WHEN recipient = '' THEN 0 ELSE 1 END) AS recipients,
               SUM(CASE WHEN external THEN 1 ELSE 0 END) AS externals
        FROM alerts_sentrecipient
        WHERE identity_id IN ({identities}) AND day >= %s AND day <= %s
        GROUP BY identity_id, day, message
    ) AS messages
    GROUP BY identity_id, day
"""


def _count_sending_days(baselines, events: list[Event], mail_days: dict[int, set[date]], is_internal) -> set[int]:
    """Store the batch's sent pairs and recount the touched days from them, in SQL; the identities changed.

    A few statements whatever the history: insert the pairs (known ones are skipped, so a batch
    judged again counts nothing twice), prune the pairs past the kept period, aggregate the
    touched days.
    """
    pairs_insert(sent_pairs(events, is_internal))
    identities = sorted(mail_days)
    first = min(min(days) for days in mail_days.values())
    last = max(max(days) for days in mail_days.values())
    horizon = min(baselines[i].last_activity_at for i in identities).astimezone(UTC).date()
    SentRecipient.objects.filter(
        identity_id__in=identities, day__lt=horizon - timedelta(days=SENDING_KEEP_DAYS)
    ).delete()
    changed: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(_DAY_COUNTS.format(identities=",".join(["%s"] * len(identities))), [*identities, first, last])
        for identity_id, day, recipients, externals in cursor.fetchall():
            day = day if isinstance(day, date) else date.fromisoformat(day)
            if day not in mail_days[identity_id]:
                continue
            baseline, key = baselines[identity_id], day.isoformat()
            if (baseline.daily_recipients.get(key), baseline.daily_external_recipients.get(key)) != (
                int(recipients),
                int(externals),
            ):
                baseline.daily_recipients[key] = int(recipients)
                baseline.daily_external_recipients[key] = int(externals)
                changed.add(identity_id)
    return changed


_SAVED_FIELDS = (
    "first_activity_at",
    "last_activity_at",
    "countries",
    "ip_ranges",
    "daily_recipients",
    "daily_external_recipients",
    "recent_signins",
    "updated_at",
)


def _save(baselines: list[IdentityBaseline]) -> None:
    """Insert or update ``baselines`` in one INSERT … ON CONFLICT DO UPDATE per thousand rows.

    Written as SQL with the documents serialised once by ``json.dumps``: Django's own
    ``bulk_create`` spends more time preparing these documents than the database writing them.
    """
    if not baselines:
        return
    table = IdentityBaseline._meta.db_table
    columns = ["identity_id", *_SAVED_FIELDS]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _SAVED_FIELDS)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    moment = connection.ops.adapt_datetimefield_value
    for start in range(0, len(baselines), 1000):
        chunk = baselines[start : start + 1000]
        params = []
        for baseline in chunk:
            params.extend(
                [
                    baseline.identity_id,
                    moment(baseline.first_activity_at),
                    moment(baseline.last_activity_at),
                    json.dumps(baseline.countries),
                    json.dumps(baseline.ip_ranges),
                    json.dumps(baseline.daily_recipients),
                    json.dumps(baseline.daily_external_recipients),
                    json.dumps(baseline.recent_signins),
                    moment(baseline.updated_at),
                ]
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT (identity_id) DO UPDATE SET {updates}",
                params,
            )


# --- judging an event against the baseline -------------------------------------------------------


def asn_key(event: Event) -> str | None:
    """``"AS8075"``: the autonomous system a sign-in came from (Graph's ``autonomousSystemNumber``),
    remembered among ``ip_ranges``: a mobile user changes addresses every day, not carriers."""
    attributes = event.attributes if isinstance(event.attributes, dict) else {}
    number = attributes.get("autonomous_system_number")
    return f"AS{number}" if isinstance(number, int) and number > 0 else None


def known_before(entries: dict, value: str | None, at: datetime) -> bool:
    """True when ``value`` (a country, an IP range) was seen strictly before ``at``."""
    if not value or value not in entries:
        return False
    return entries[value][0] < _epoch(at)


def signin_history_start(baseline: IdentityBaseline | None) -> datetime | None:
    """When the identity's first remembered successful sign-in happened."""
    if baseline is None or not baseline.countries:
        return None
    return datetime.fromtimestamp(min(first for first, _ in baseline.countries.values()), tz=UTC)


def recipients_around(baseline: IdentityBaseline | None, moment: datetime) -> int:
    """An upper bound of the recipients in any window of up to 24 h that contains ``moment``.

    Such a window lies within two consecutive UTC days, so the day's count plus the larger
    neighbour's bounds it; used to skip loading the mail of identities far below every limit.
    """
    if baseline is None:
        return 0
    day = moment.astimezone(UTC).date()
    counts = baseline.daily_recipients

    def count(offset: int) -> int:
        return counts.get((day + timedelta(days=offset)).isoformat(), 0)

    return count(0) + max(count(-1), count(1))


def sending_baseline(baseline: IdentityBaseline | None, *, before: date, days: int) -> SendingBaseline:
    """Median recipients per active day over the ``days`` days before ``before`` (that day excluded)."""
    if baseline is None:
        return SendingBaseline(0, 0, 0, days)
    period = [(before - timedelta(days=offset)).isoformat() for offset in range(1, days + 1)]
    totals = [baseline.daily_recipients[day] for day in period if baseline.daily_recipients.get(day)]
    externals = [baseline.daily_external_recipients.get(day, 0) for day in period if baseline.daily_recipients.get(day)]
    if not totals:
        return SendingBaseline(0, 0, 0, days)
    return SendingBaseline(statistics.median(totals), statistics.median(externals), len(totals), days)

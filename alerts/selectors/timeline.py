"""An identity's timeline: its activity charts, its events, the evidence among them.

Built for a user with 50,000 events: the charts are aggregated in SQL (per hour, per place)
and the event list is a keyset page of one index. Each function is one query (two for
``signin_moves`` and ``evidence_event_ids``); a missing row raises ``NotFound``.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Func, IntegerField, Max, Q, QuerySet, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Lag, Lead
from django.utils import timezone

from airportal.errors import NotFound
from airportal.keyset import Page, SortKey, keyset_page
from alerts.activity.signins import haversine_km
from alerts.console_hooks import hooks
from alerts.models import Alert, Event, Identity

EVENT_KEYS = (SortKey("occurred_at", True, datetime), SortKey("id", True, int))
LIST_FIELDS_DEFERRED = ("raw", "attributes")
# Impossible travel as DESIGN.md defines it: a move of over 500 km at over 800 km/h.
IMPOSSIBLE_MIN_KM = 500
IMPOSSIBLE_MIN_KMH = 800
MAP_MAX_MOVES = 400
BASELINE_DAYS = 14


def identity_get(*, upn: str) -> Identity:
    """The identity of a UPN (any case); ``NotFound`` when the logs never named it."""
    identity = Identity.objects.filter(upn=upn.strip().lower()).first()
    if identity is None:
        raise NotFound(f"No identity {upn[:320]}.")
    return identity


def timeline_window(*, identity: Identity, days: int) -> tuple[datetime, datetime]:
    """``days`` whole hours ending after the identity's latest event (or now when it has none).

    Ending at the latest event, not at "now", keeps a backfilled or quiet user's activity on screen.
    """
    latest = identity.events.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    end = (latest or timezone.now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(days=days), end


def _events(identity: Identity, start: datetime, end: datetime) -> QuerySet:
    return Event.objects.filter(identity=identity, occurred_at__gte=start, occurred_at__lt=end)


class EpochHour(Func):
    """Whole hours since 1970-01-01 UTC, as an integer.

    Grouping on an integer spares converting thousands of truncated timestamps back into
    aware datetimes, which costs more than the query itself for a busy user.
    """

    output_field = IntegerField()
    template = "CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 3600) AS INTEGER)"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 3600)"
        )


def hour_index(moment: datetime) -> int:
    """The ``EpochHour`` of a datetime."""
    return int(moment.timestamp() // 3600)


def activity_per_hour(*, identity: Identity, start: datetime, end: datetime) -> list[tuple[int, str, int]]:
    """(epoch hour, kind, events) for every hour and kind with activity in [start, end)."""
    rows = (
        _events(identity, start, end)
        .annotate(hour=EpochHour("occurred_at"))
        .values_list("hour", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return list(rows)


def per_kind(activity: Iterable[tuple[int, str, int]]) -> dict[str, int]:
    """Events per kind, from ``activity_per_hour`` rows (no second pass over the events)."""
    totals: dict[str, int] = {}
    for _, kind, count in activity:
        totals[kind] = totals.get(kind, 0) + count
    return totals


def of_kind(activity: Iterable[tuple[int, str, int]], kind: str) -> list[tuple[int, int]]:
    """(epoch hour, events) of one kind, from ``activity_per_hour`` rows."""
    return [(hour, count) for hour, row_kind, count in activity if row_kind == kind]


def alert_windows(*, identity: Identity, start: datetime, end: datetime, limit: int = 100) -> list[dict]:
    """The activity window of each alert on the identity that overlaps [start, end)."""
    alerts = Alert.objects.filter(identity=identity, first_activity_at__lt=end, last_activity_at__gte=start)
    rows = alerts.order_by("-last_activity_at").values(
        "id", "title", "severity", "first_activity_at", "last_activity_at"
    )
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "severity": row["severity"],
            "start": row["first_activity_at"],
            "end": row["last_activity_at"],
        }
        for row in rows[:limit]
    ]


def mail_baseline_band(*, identity: Identity, before: datetime) -> dict[int, tuple[float, float]]:
    """The usual number of mails sent in each hour of the day, from the 14 days before ``before``.

    For each hour of the day: mean ± 2 standard deviations over those days (quiet hours count
    as zero), floored at zero. Empty when the user sent nothing in that period.
    """
    start = before - timedelta(days=BASELINE_DAYS)
    rows = (
        _events(identity, start, before)
        .filter(kind=Event.Kind.MAIL_SENT)
        .annotate(hour=EpochHour("occurred_at"))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_hour_of_day: dict[int, list[int]] = {hour: [] for hour in range(24)}
    for hour, count in rows:
        per_hour_of_day[hour % 24].append(count)
    if not any(per_hour_of_day.values()):
        return {}
    band = {}
    for hour, counts in per_hour_of_day.items():
        values = counts + [0] * (BASELINE_DAYS - len(counts))
        mean = sum(values) / len(values)
        spread = math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))
        band[hour] = (max(0.0, mean - 2 * spread), mean + 2 * spread)
    return band


def _place_label(city: str, country: str) -> str:
    return ", ".join(part for part in (city, country) if part) or "unknown place"


def signin_moves(*, identity: Identity, start: datetime, end: datetime) -> tuple[list[dict], list[dict]]:
    """Places the user signed in from, and each move between consecutive successful sign-ins.

    Two queries. Places: one GROUP BY. Moves: a run of sign-ins from the same coordinates
    collapses in SQL (window functions over the time-ordered index) to its first and last row,
    so a user with thousands of office sign-ins yields two rows, and a move is timed from the
    last sign-in at the old place to the first at the new one.
    """
    signins = _events(identity, start, end).filter(
        kind=Event.Kind.SIGNIN, latitude__isnull=False, longitude__isnull=False
    )
    place_rows = (
        signins.values("latitude", "longitude").annotate(n=Count("id"), city=Max("city"), country=Max("country"))
    ).order_by("-n")[:MAP_MAX_MOVES]
    places = [
        {
            "lat": row["latitude"],
            "lon": row["longitude"],
            "count": row["n"],
            "label": f"{_place_label(row['city'], row['country'])}: {row['n']} sign-in{'s' if row['n'] != 1 else ''}",
        }
        for row in place_rows
    ]
    order = [F("occurred_at").asc(), F("id").asc()]
    boundaries = (
        signins.annotate(
            prev_lat=Window(Lag("latitude"), order_by=order),
            prev_lon=Window(Lag("longitude"), order_by=order),
            next_lat=Window(Lead("latitude"), order_by=order),
            next_lon=Window(Lead("longitude"), order_by=order),
        )
        .filter(
            Q(prev_lat__isnull=True)
            | ~Q(latitude=F("prev_lat"))
            | ~Q(longitude=F("prev_lon"))
            | Q(next_lat__isnull=True)
            | ~Q(latitude=F("next_lat"))
            | ~Q(longitude=F("next_lon"))
        )
        .order_by("-occurred_at", "-id")
        .values("occurred_at", "latitude", "longitude", "city", "country")
    )
    sequence = list(reversed(list(boundaries[: 2 * MAP_MAX_MOVES])))
    legs = []
    for previous, current in zip(sequence, sequence[1:], strict=False):
        here, there = (previous["latitude"], previous["longitude"]), (current["latitude"], current["longitude"])
        if here == there:  # the first and the last sign-in of one stay
            continue
        km = haversine_km(here, there)
        hours = (current["occurred_at"] - previous["occurred_at"]).total_seconds() / 3600
        speed = km / hours if hours > 0 else math.inf
        impossible = km > IMPOSSIBLE_MIN_KM and speed > IMPOSSIBLE_MIN_KMH
        speed_text = "at once" if speed == math.inf else f"{speed:,.0f} km/h"
        legs.append(
            {
                "from": here,
                "to": there,
                "km": km,
                "speed": speed,
                "impossible": impossible,
                "at": current["occurred_at"],
                "label": (
                    f"{_place_label(previous['city'], previous['country'])} → "
                    f"{_place_label(current['city'], current['country'])}: {km:,.0f} km, {speed_text}"
                ),
            }
        )
    return places, legs


def event_page(
    *, identity: Identity, start: datetime, end: datetime, kinds: Iterable[str] = (), cursor=None, limit: int = 100
) -> Page:
    """Newest first, without the raw record (fetched on demand by ``event_get``)."""
    # To fold a message's rows: message trace calls it message_id, the mailbox audit's Send internet_message_id.
    message_ref = Coalesce(KT("attributes__message_id"), KT("attributes__internet_message_id"))
    events = _events(identity, start, end).defer(*LIST_FIELDS_DEFERRED).annotate(message_ref=message_ref)
    kinds = list(kinds)
    if kinds:
        events = events.filter(kind__in=kinds)
    return keyset_page(events, keys=EVENT_KEYS, cursor=cursor, limit=limit)


@dataclass
class MessageRow:
    """One message sent to many recipients, folded from its per-recipient rows (message trace).

    ``events`` are its rows on this page; ``recipients_total`` counts them all, on any page, so a
    phishing wave of 240 recipients reads as one line.
    """

    key: str
    subject: str
    occurred_at: datetime
    events: list[Event]
    recipients_total: int = 0
    is_message = True


def fold_messages(*, identity: Identity, events: list[Event]) -> list[Event | MessageRow]:
    """Consecutive sent-mail rows of one message as one ``MessageRow``; other events as they are.

    ``events`` come from ``event_page`` (which reads each row's message id); one query counts
    each folded message's recipients across the whole period.
    """
    rows: list[Event | MessageRow] = []
    previous_key = ""
    for event in events:
        key = _message_ref(event)
        previous = rows[-1] if rows else None
        if key and isinstance(previous, MessageRow) and previous.key == key:
            previous.events.append(event)
        elif key and key == previous_key:
            rows[-1] = MessageRow(
                key=key, subject=event.subject, occurred_at=previous.occurred_at, events=[previous, event]
            )
        else:
            rows.append(event)
        previous_key = key
    folded = {row.key: row for row in rows if isinstance(row, MessageRow)}
    if folded:
        # The same id is spelled as each source spells it (message trace, the mailbox audit's Send).
        spellings = {event.message_ref for row in folded.values() for event in row.events}
        counts = (
            Event.objects.filter(identity=identity, kind=Event.Kind.MAIL_SENT, attributes__message_id__in=spellings)
            .annotate(message_ref=KT("attributes__message_id"))
            .values("message_ref")
            .annotate(recipients=Count("id"))
            .order_by()
        )
        for row in counts:
            folded[_normal(row["message_ref"])].recipients_total += row["recipients"]
    for message in folded.values():
        message.recipients_total = max(message.recipients_total, sum(1 for event in message.events if event.target))
    return rows


def _message_ref(event: Event) -> str:
    """The message id a sent-mail row of ``event_page`` belongs to ('' for other events)."""
    return _normal(getattr(event, "message_ref", "") or "") if event.kind == Event.Kind.MAIL_SENT else ""


def _normal(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def evidence_event_ids(event_ids: list[int]) -> set[int]:
    """The events among ``event_ids`` that an alert or a finding rests on (two queries)."""
    if not event_ids:
        return set()
    marked = set(
        Alert.events.through.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True).distinct()
    )
    return marked | set(hooks.finding_event_ids(event_ids))


def event_get(*, event_id: int) -> Event:
    """One event with its raw record, loaded when its row is expanded."""
    event = Event.objects.select_related("identity").filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"No event {event_id}.")
    return event

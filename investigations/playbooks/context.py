"""What a playbook run reads, loaded once with a constant number of queries.

``context_load`` reads the investigation's alerts, the identity's baseline, the accepted
domains, every event of the identity in the activity window (one query, whatever the volume),
the delegations it took part in on other mailboxes, how many accounts failed to sign in
from the IPs it signed in from, and the account as it is now (``live``: one read through the
connector per run, see ``investigations.playbooks.live``). Checks only look at this object; the
one lookup they may need later (which recipients are our own identities) is one more query.

The window starts ``PortalSettings.investigation_lookback_days`` (14 by default) before the first
alert's activity: persistence set up earlier is still seen in the live read.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.db.models import Q
from django.utils import timezone

from airportal.models import PortalSettings
from alerts.activity.addresses import address_domain, domain_is_internal
from alerts.activity.changes import failed_changes
from alerts.activity.fields import key, normalised
from alerts.activity.mail import Message, messages_of
from alerts.activity.signins import PASSWORD_FAILURE_CODES
from alerts.domains import accepted_domains
from alerts.models import Alert, Event, Identity, IdentityBaseline
from investigations.connectors.state import LiveState, StateItem
from investigations.models import Finding, Investigation
from investigations.playbooks.live import LiveView, event_values, snapshot_read
from investigations.playbooks.proposal import Proposal

K = Event.Kind
SPRAY_LOOKBACK = timedelta(hours=72)  # failed sign-ins before the window that make an IP a sprayer's
LOOKAHEAD = timedelta(hours=24)
MANUAL_WINDOW = timedelta(days=7)  # a hand-started investigation without alerts looks this far back
PERMISSION_KINDS = (K.MAILBOX_PERMISSION_ADDED, K.SEND_AS_PERMISSION_ADDED)
# Fields the checks read; ``raw`` (the source record) is left in the database.
EVENT_FIELDS = (
    "id",
    "identity_id",
    "occurred_at",
    "kind",
    "operation",
    "source",
    "ip",
    "country",
    "city",
    "latitude",
    "longitude",
    "app",
    "user_agent",
    "succeeded",
    "subject",
    "target",
    "attributes",
)


class EventRow:
    """One event as the checks read it: the ``EVENT_FIELDS`` columns as plain attributes.

    Built from ``values_list`` rather than model instances (several times cheaper for
    10,000 rows; the checks only read). ``fact`` reads attributes the way
    ``alerts.activity.fields.attr`` does, on a normalisation computed once per event.
    """

    __slots__ = (*EVENT_FIELDS, "pk", "_facts", "_recipients")  # _recipients: alerts.activity.mail caches

    def __init__(self, values):
        (
            self.id,
            self.identity_id,
            self.occurred_at,
            self.kind,
            self.operation,
            self.source,
            self.ip,
            self.country,
            self.city,
            self.latitude,
            self.longitude,
            self.app,
            self.user_agent,
            self.succeeded,
            self.subject,
            self.target,
            self.attributes,
        ) = values  # the order of EVENT_FIELDS
        self.pk = self.id
        self._facts = None

    def fact(self, *names: str, default=None):
        """The first of ``names`` present (and not empty) in the attributes (any case, ``_``/``-`` ignored)."""
        if self._facts is None:
            self._facts = normalised(self.attributes)
        for name in names:
            value = self._facts.get(_key(name))
            if value not in (None, "", [], {}):
                return value
        return default


_key = lru_cache(maxsize=1024)(key)  # the same few attribute names are looked up 10,000s of times


def event_rows(queryset) -> list[EventRow]:
    return [EventRow(values) for values in queryset.values_list(*EVENT_FIELDS)]


def check(check_key: str, title: str):
    """Declare a check: ``fn(ctx, result)`` fills the ``CheckResult`` the runner made for it.

    The runner knows each check's key and title before calling it, so a check that raises
    still leaves a finding (verdict ``error``) under its own key.
    """

    def declare(fn):
        fn.key, fn.title = check_key, title
        return fn

    return declare


@dataclass
class CheckResult:
    """One check's outcome, before it is stored as a ``Finding``."""

    key: str
    title: str
    verdict: str = Finding.Verdict.CLEAN
    explanation: str = ""
    headline: str = ""  # a clause for the summary paragraph, when the check found something
    weight: int = 0  # risk points when not clean
    events: list[EventRow] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.verdict in (Finding.Verdict.MALICIOUS, Finding.Verdict.SUSPICIOUS)

    @property
    def score(self) -> int:
        if self.verdict == Finding.Verdict.MALICIOUS:
            return self.weight
        if self.verdict == Finding.Verdict.SUSPICIOUS:
            return self.weight // 2
        return 0


@dataclass
class PlaybookContext:
    investigation: Investigation
    identity: Identity
    alerts: list[Alert]
    window_start: datetime
    window_end: datetime
    events: list[EventRow]  # the identity's events in the window, oldest first
    baseline: IdentityBaseline | None
    accepted_domains: frozenset[str]
    delegations: list[EventRow]  # permission events on any mailbox that this identity performed or received
    failures_by_ip: dict[str, int]  # accounts that only failed (wrong password) from each IP
    signin_accounts_by_ip: dict[str, int]  # accounts that signed in successfully from each IP
    live: LiveView  # the account as it is now, read once for this run
    # The snapshot of this investigation's previous run: what it found stays evidence once removed.
    earlier: LiveView | None = None
    # Filled by the sign-in checks, read by later checks (MFA, consent, blast radius, pivots).
    risky_signins: list[EventRow] = field(default_factory=list)
    # The results of the checks that already ran, in order.
    results: list["CheckResult"] = field(default_factory=list)
    _by_kind: dict[str, list[EventRow]] = field(default_factory=dict)
    _sent: list[Message] | None = None
    _internal: dict[str, bool] = field(default_factory=dict)
    # What the logs and the live read disagree on, noted by the checks, judged by ``live_state``.
    disagreements: list[str] = field(default_factory=list)
    # Each persistence item a check judged (``note_item``), for the "Current state" tab.
    items: list[dict] = field(default_factory=list)

    def __post_init__(self):
        by_kind = defaultdict(list)
        for event in self.events:
            by_kind[event.kind].append(event)
        self._by_kind = dict(by_kind)

    def of_kind(self, *kinds: str) -> list[EventRow]:
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], [])
        return sorted((e for kind in kinds for e in self._by_kind.get(kind, [])), key=lambda e: (e.occurred_at, e.id))

    def sent_messages(self) -> list[Message]:
        """The mail it sent in the window, grouped into messages (audit and trace rows counted once)."""
        if self._sent is None:
            self._sent = messages_of(self.of_kind(K.MAIL_SENT))
        return self._sent

    def is_internal(self, address: str) -> bool:
        known = self._internal.get(address)
        if known is None:
            known = self._internal[address] = domain_is_internal(address_domain(address), self.accepted_domains)
        return known

    def live_records(self, *kinds: str) -> list[tuple[StateItem, EventRow]]:
        """The live items of these kinds, each with the log record it reads as (judged like one)."""
        return [(item, EventRow(event_values(item, identity_id=self.identity.pk))) for item in self.live.items(*kinds)]

    def earlier_records(self, *kinds: str) -> list[tuple[StateItem, EventRow]]:
        """Items of these kinds an earlier run of this investigation read and this read does not find
        (removed since, often by its own actions, or this read could not see them)."""
        if self.earlier is None:
            return []
        now = {(item.kind, item.key) for item in self.live.items(*kinds)}
        return [
            (item, EventRow(event_values(item, identity_id=self.identity.pk)))
            for item in self.earlier.items(*kinds)
            if (item.kind, item.key) not in now
        ]

    def note_item(
        self,
        *,
        kind: str,
        key: str,
        name: str,
        origin: str,
        verdict: str,
        created_at: datetime | None = None,
        action: Proposal | None = None,
    ) -> None:
        """Record one item a check judged: a ``StateKind``, where it came from (``log``, ``live`` or
        ``both``), when it was created if known, and the proposal that removes it, if any."""
        self.items.append(
            {
                "kind": kind,
                "key": key,
                "name": name,
                "origin": origin,
                "verdict": verdict,
                "created_at": created_at.isoformat() if created_at else None,
                "action": [action.kind, action.target[:512]] if action else None,
            }
        )

    @property
    def upn(self) -> str:
        return self.identity.upn

    @property
    def suspicious_since(self) -> datetime:
        """The start of the suspicious period: the first risky sign-in, else the first alert activity."""
        if self.risky_signins:
            return min(event.occurred_at for event in self.risky_signins)
        return min((alert.first_activity_at for alert in self.alerts), default=self.window_start)

    def identities_by_upn(self, upns) -> dict[str, Identity]:
        """Which of these addresses are monitored identities (one query)."""
        upns = {upn.lower() for upn in upns if upn}
        if not upns:
            return {}
        return {identity.upn: identity for identity in Identity.objects.filter(upn__in=upns)}


def lookback() -> timedelta:
    """How far before the first alert's activity the log side of the window starts (admin setting)."""
    days = PortalSettings.objects.filter(pk=1).values_list("investigation_lookback_days", flat=True).first()
    return timedelta(days=days or PortalSettings._meta.get_field("investigation_lookback_days").default)


def activity_window(alerts: list[Alert], *, now: datetime, before: timedelta) -> tuple[datetime, datetime]:
    """From ``before`` the first alert's activity to ``LOOKAHEAD`` after the last (not past now)."""
    if not alerts:
        return now - MANUAL_WINDOW, now
    start = min(alert.first_activity_at for alert in alerts) - before
    end = min(max(alert.last_activity_at for alert in alerts) + LOOKAHEAD, now)
    return start, max(end, start)


def context_load(investigation: Investigation, *, now: datetime | None = None) -> PlaybookContext:
    now = now or timezone.now()
    identity = investigation.identity
    alerts = list(investigation.alerts.select_related("policy").order_by("first_activity_at", "id"))
    start, end = activity_window(alerts, now=now, before=lookback())
    events = event_rows(
        Event.objects.filter(identity=identity, occurred_at__gte=start, occurred_at__lte=end)
        .exclude(kind=K.REMEDIATION)
        .exclude(failed_changes())
        .order_by("occurred_at", "id")
    )
    delegations = event_rows(
        Event.objects.filter(kind__in=PERMISSION_KINDS, occurred_at__gte=start, occurred_at__lte=end)
        .filter(Q(identity=identity) | Q(attributes__actor=identity.upn) | Q(attributes__delegate=identity.upn))
        .exclude(failed_changes())
        .order_by("occurred_at", "id")
    )
    failures_by_ip, signin_accounts_by_ip = _accounts_by_ip(
        {event.ip for event in events if event.kind == K.SIGNIN and event.ip}, start=start - SPRAY_LOOKBACK, end=end
    )
    return PlaybookContext(
        investigation=investigation,
        identity=identity,
        alerts=alerts,
        window_start=start,
        window_end=end,
        events=events,
        baseline=IdentityBaseline.objects.filter(identity=identity).first(),
        accepted_domains=accepted_domains(),
        delegations=delegations,
        failures_by_ip=failures_by_ip,
        signin_accounts_by_ip=signin_accounts_by_ip,
        live=LiveView(snapshot_read(identity.upn, now=now)),
        earlier=LiveView(LiveState.from_json(investigation.live_state)) if investigation.live_state else None,
    )


def _accounts_by_ip(ips: set[str], *, start: datetime, end: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Per IP: the accounts that only failed there with a wrong password, and those that signed in there.

    An account that mistyped its password and then signed in from the same address (an office NAT)
    is a user, not a spray victim. Two queries, whatever the number of addresses.
    """
    if not ips:
        return {}, {}
    around = Event.objects.filter(ip__in=sorted(ips), occurred_at__gte=start, occurred_at__lte=end).order_by()
    failed: dict[str, set[int]] = defaultdict(set)
    for ip, identity_id in (
        around.filter(kind=K.SIGNIN_FAILED, attributes__error_code__in=sorted(PASSWORD_FAILURE_CODES))
        .values_list("ip", "identity_id")
        .distinct()
    ):
        failed[ip].add(identity_id)
    signed_in: dict[str, set[int]] = defaultdict(set)
    for ip, identity_id in (
        around.filter(kind=K.SIGNIN).exclude(succeeded=False).values_list("ip", "identity_id").distinct()
    ):
        signed_in[ip].add(identity_id)
    return (
        {ip: len(accounts - signed_in[ip]) for ip, accounts in failed.items()},
        {ip: len(accounts) for ip, accounts in signed_in.items()},
    )

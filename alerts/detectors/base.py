"""What a detector is, what it returns, and what it may look at.

A detector is a plain object with a key, a parameter schema and ``detect``: given one identity's
new events (the *triggers*) and the context the engine loaded for the whole batch, it returns
``Detection`` objects. Detectors never query the database themselves: the engine loads each
identity's relevant window in a few queries per batch, so detection cost does not grow with
the number of detectors or events per identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.activity.addresses import address_domain, domain_is_internal
from alerts.detectors.params import ParamSchema
from alerts.models import Event, Severity

if TYPE_CHECKING:
    from alerts.models import Identity, IdentityBaseline


@dataclass
class Detection:
    """One reason to raise (or fold into) an alert for one identity.

    ``reasons`` maps a stable code (``impossible_travel``) to the plain sentence an analyst
    reads; ``evidence`` holds the values compared with the thresholds. ``fold_key`` replaces
    the time-window fold for detectors whose source has its own identity (an external alert id).
    """

    identity_id: int | None  # None: about no user (a device or app alert)
    title: str
    reasons: dict[str, str]
    events: list[Event]
    evidence: dict[str, Any] = field(default_factory=dict)
    fold_key: str | None = None
    severity: str | None = None

    @property
    def first_at(self) -> datetime:
        return min(event.occurred_at for event in self.events)

    @property
    def last_at(self) -> datetime:
        return max(event.occurred_at for event in self.events)

    @property
    def ips(self) -> set[str]:
        return {event.ip for event in self.events if event.ip}


@dataclass
class DetectionContext:
    """Everything the engine loaded for one batch. Read-only for detectors.

    ``history`` holds, per identity, the stored events of the context kinds around the batch
    (the batch itself included), sorted by time; ``signins_by_ip`` the sign-ins (failed and
    successful) of any identity from the IPs the batch signed in from, since password spray is
    a cross-account pattern; ``identity_ids_by_upn`` resolves the actors the batch names
    (``attributes["actor"]``) for detectors that alert on who did something.
    ``signins_by_session`` holds the stored sign-ins sharing a session id with a sign-in of the
    batch (a replayed session token); ``device_code_signins`` per identity the (time, id) of its
    device-code sign-ins in the habit period before the batch (only for identities whose batch
    has one).
    ``domains_configured`` is False when the accepted domains were learnt from the identities
    seen so far (the admin listed none), so they may still miss one of the tenant's domains.
    """

    identities: dict[int, Identity]
    history: dict[int, list[Event]]
    baselines: dict[int, IdentityBaseline]
    accepted_domains: frozenset[str]
    domains_configured: bool = False
    identity_ids_by_upn: dict[str, int] = field(default_factory=dict)
    signins_by_ip: dict[str, list[Event]] = field(default_factory=dict)
    signins_by_session: dict[str, list[Event]] = field(default_factory=dict)
    device_code_signins: dict[int, list[tuple[datetime, int]]] = field(default_factory=dict)
    _internal: dict[str, bool] = field(default_factory=dict, repr=False)  # is_internal, per address

    def events_of(self, identity_id: int, kinds: Iterable[str]) -> list[Event]:
        wanted = set(kinds)
        return [event for event in self.history.get(identity_id, ()) if event.kind in wanted]

    def events_around(
        self, identity_id: int, kinds: Iterable[str], triggers: list[Event], span: timedelta
    ) -> list[Event]:
        """``events_of`` limited to ``span`` before the first trigger and after the last one: the
        only events a window containing a trigger can hold."""
        start = min(event.occurred_at for event in triggers) - span
        end = max(event.occurred_at for event in triggers) + span
        return [event for event in self.events_of(identity_id, kinds) if start <= event.occurred_at <= end]

    def is_internal(self, address: str) -> bool:
        """True when the address's domain is an accepted domain or one of its subdomains."""
        known = self._internal.get(address)
        if known is None:
            known = self._internal[address] = domain_is_internal(address_domain(address), self.accepted_domains)
        return known


class Detector:
    """Base class; each module in ``alerts/detectors/`` defines one subclass and registers it."""

    key: str = ""
    name: str = ""
    description: str = ""
    severity: str = Severity.MEDIUM
    schema: ParamSchema = ParamSchema()
    trigger_kinds: frozenset[str] = frozenset()
    context_kinds: frozenset[str] = frozenset()
    # True for a detector that also judges events about no user (``identity_id`` None in
    # ``detect``): it reads only the triggers themselves, no baseline or history.
    judges_unattributed: bool = False

    def context_span(self, params: dict[str, Any]) -> timedelta:
        """How far before and after its triggers the detector needs to see ``context_kinds``."""
        return timedelta(0)

    def wants_context(self, baseline: IdentityBaseline | None, triggers: list[Event], params: dict[str, Any]) -> bool:
        """False when the baseline alone shows these triggers cannot fire, so no history is loaded."""
        return True

    def context_needs(
        self, baseline: IdentityBaseline | None, triggers: list[Event], params: dict[str, Any]
    ) -> frozenset[str]:
        """Which of ``context_kinds`` these triggers need loaded; a detector whose triggers of one
        kind need one context and of another kind another overrides it."""
        return self.context_kinds if self.wants_context(baseline, triggers, params) else frozenset()

    def detect(
        self, ctx: DetectionContext, identity_id: int, triggers: list[Event], params: dict[str, Any]
    ) -> list[Detection]:
        raise NotImplementedError

    def title_for(self, reasons: dict[str, str]) -> str | None:
        """A title for an alert whose merged reasons changed on a fold; None keeps the title."""
        return None

    def detect_network(self, ctx: DetectionContext, batch: list[Event], params: dict[str, Any]) -> list[Detection]:
        """Patterns across identities (password spray); findings may be on identities outside the batch."""
        return []


def quote(value: str, limit: int = 80) -> str:
    """A short, quoted rendering of attacker-controlled text for an alert sentence."""
    value = " ".join(str(value).split())
    return f"“{value[:limit]}{'…' if len(value) > limit else ''}”"

"""What every adapter returns and raises.

An adapter turns one record of its source into one or more ``NormalisedEvent``\\ s, or raises
``RecordError`` with a message the API shows next to the record's index. Adapters never touch
the database: the ingest pipeline resolves identities, fills geolocation, truncates text to the
column sizes and stores the events in bulk.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alerts.adapters.principals import PrincipalName


class RecordError(ValueError):
    """This record cannot be stored; the message says why, in words an integrator can act on."""


# The kinds an event about no user may have: another product's alert on a device or an app.
UNATTRIBUTED_KINDS = frozenset({"external_alert"})


class RecordSkipped(Exception):
    """A valid record that is out of scope: it names no user to attribute it to (a service
    operation, a service principal's sign-in, a device-only alert, a system account). Not an
    error: the reply counts it under ``skipped`` with this reason."""


# Accounts Microsoft writes into audit records that are not people: never monitored identities.
PHANTOM_USERS = frozenset(
    {"not available", "nt authority\\system", "system", "unknown", "n/a", "app@sharepoint", "securitycompliancealerts"}
)
# System accounts (``NT AUTHORITY\\SYSTEM (w3wp)``), well-known SIDs, service principals
# (``ServicePrincipal_<guid>``, ``SHAREPOINT\\system``) and Exchange's own arbitration mailboxes.
PHANTOM_PREFIXES = ("nt authority\\", "s-1-5-", "serviceprincipal_", "sharepoint\\", "spo_arbitration_")


def is_phantom(user: str) -> bool:
    """A system, service or placeholder account, not a person: never a monitored identity."""
    name = user.strip().lower()
    return not name or name in PHANTOM_USERS or name.startswith(PHANTOM_PREFIXES)


@dataclass(slots=True)
class NormalisedEvent:
    """One activity, in the shape of ``alerts.models.Event`` plus the identity it belongs to.

    ``source_record_id`` empty means "the source gave no id": the pipeline then uses a
    fingerprint of the raw record, so re-ingesting the same record stays a no-op. ``upn`` is
    ``None`` only for a record about no user that is still worth keeping (``UNATTRIBUTED_KINDS``).
    """

    upn: str | None
    occurred_at: datetime
    kind: str
    operation: str = ""
    source_record_id: str = ""
    dedup_key: str | None = None
    ip: str | None = None
    country: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    app: str = ""
    user_agent: str = ""
    succeeded: bool | None = None
    subject: str = ""
    target: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    display_name: str = ""
    department: str = ""
    external_id: str = ""


class AdapterContext:
    """Tenant facts an adapter may need, loaded lazily once per ingest call.

    ``principal_loader`` finds the identity a recipient name designates (an alias, a display
    name, a distinguished name, an object id: ``alerts.adapters.principals``); without one,
    only addresses resolve. Answers are kept for the call: a batch names the same few mailboxes.
    """

    def __init__(
        self,
        *,
        tenant_domains_loader: Callable[[], frozenset[str]],
        principal_loader: "Callable[[PrincipalName], str] | None" = None,
    ):
        self._tenant_domains_loader = tenant_domains_loader
        self._principal_loader = principal_loader
        self._principals: dict[str, str] = {}

    def upn_of(self, name: "PrincipalName") -> str:
        """The UPN of the identity ``name`` designates (lower-cased), or ``""`` when none is known."""
        if name.address or not self._principal_loader:
            return name.address
        key = name.object_id or name.name.lower()
        if key not in self._principals:
            self._principals[key] = self._principal_loader(name) if key else ""
        return self._principals[key]

    @cached_property
    def tenant_domains(self) -> frozenset[str]:
        """The tenant's own mail domains, lower-cased (accepted domains, else the identities' domains)."""
        return self._tenant_domains_loader()


Adapter = Callable[[Any, AdapterContext], list[NormalisedEvent]]

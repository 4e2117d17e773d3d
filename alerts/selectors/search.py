"""The event search: an IP address, or text matched against subjects, targets and UPNs.

Built for a tenant with millions of events: the search pages one index and caps what it
counts. A query too short to search raises ``DomainError`` with the message to show.
"""

import ipaddress
from collections import Counter
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from airportal.errors import DomainError
from airportal.keyset import Page, keyset_page
from alerts.models import Event, Identity
from alerts.selectors.timeline import EVENT_KEYS, LIST_FIELDS_DEFERRED

SEARCH_MIN_LENGTH = 3
SEARCH_COUNT_CAP = 5_000
SEARCH_MAX_IDENTITIES = 200


@dataclass(frozen=True)
class EventSearch:
    """A resolved search: an IP address (exact match on its index), or text matched against
    subjects and targets (trigram indexes) plus the identities whose UPN contains it."""

    text: str
    ip: str | None = None
    identity_ids: tuple[int, ...] = ()
    too_many_identities: bool = False

    @property
    def kind(self) -> str:
        return "ip" if self.ip else "text"


def search_resolve(text: str) -> EventSearch:
    """Parse the query; for text, look up the matching UPNs first (one query on the identities).

    Their ids go into the event query as a list: an ``IN (subquery)`` inside the OR would stop
    PostgreSQL from combining the three indexes. A query matching more than
    ``SEARCH_MAX_IDENTITIES`` UPNs (a domain) keeps only the subject and target matches.
    """
    text = text.strip()
    try:
        return EventSearch(text=text, ip=str(ipaddress.ip_address(text)))
    except ValueError:
        pass
    if len(text) < SEARCH_MIN_LENGTH:
        raise DomainError(f"Type at least {SEARCH_MIN_LENGTH} characters, or a whole IP address.")
    ids = list(
        Identity.objects.filter(upn__icontains=text)
        .order_by("id")
        .values_list("id", flat=True)[: SEARCH_MAX_IDENTITIES + 1]
    )
    if len(ids) > SEARCH_MAX_IDENTITIES:
        return EventSearch(text=text, too_many_identities=True)
    return EventSearch(text=text, identity_ids=tuple(ids))


def _matching(search: EventSearch) -> QuerySet:
    if search.ip:
        return Event.objects.filter(ip=search.ip)
    condition = Q(subject__icontains=search.text) | Q(target__icontains=search.text)
    if search.identity_ids:
        condition |= Q(identity_id__in=search.identity_ids)
    return Event.objects.filter(condition)


def search_events(*, search: EventSearch, cursor=None, limit: int = 50) -> Page:
    events = _matching(search).select_related("identity").defer(*LIST_FIELDS_DEFERRED)
    return keyset_page(events, keys=EVENT_KEYS, cursor=cursor, limit=limit)


def search_identity_counts(*, search: EventSearch, limit: int = 50) -> tuple[list[dict], int, bool]:
    """Matching events per identity (most first), the total, and whether the count hit its cap.

    Counting stops after ``SEARCH_COUNT_CAP`` matches, so a query that matches half the tenant
    answers as fast as a precise one; the page then says the counts are a lower bound. The
    identity ids of the matches are counted here rather than grouped in SQL: PostgreSQL cannot
    group the rows of a LIMITed scan without first materialising them anyway. Two queries.
    """
    matched = list(_matching(search).order_by().values_list("identity_id", flat=True)[: SEARCH_COUNT_CAP + 1])
    capped = len(matched) > SEARCH_COUNT_CAP
    top = Counter(matched[:SEARCH_COUNT_CAP]).most_common(limit)
    names = Identity.objects.only("upn", "display_name").in_bulk([identity_id for identity_id, _ in top])
    rows = [
        {"identity__upn": names[i].upn, "identity__display_name": names[i].display_name, "n": n}
        for i, n in top
        if i in names
    ]
    rows.sort(key=lambda row: (-row["n"], row["identity__upn"]))
    return rows, min(len(matched), SEARCH_COUNT_CAP), capped
